import type { TaskRow } from "../db/tasks.js";
import { isDesiredUp, isTerminal, rank } from "../domain/task-states.js";
import type { TaskBook } from "./task-book.js";

/**
 * Task reaper: deletes tasks marked for removal once no agent can be running
 * them (never assigned, or stopped), and keeps at most `historyLimit` old
 * tasks per slot (per node for global services).
 */
export function reapTasks(book: TaskBook, historyLimit: number): void {
  const groups = new Map<string, TaskRow[]>();
  for (const t of book.all()) {
    if (t.desiredState === "remove" && (rank(t.state) < rank("assigned") || isTerminal(t.state))) {
      book.delete(t);
      continue;
    }
    const key = `${t.serviceId}/${t.slot ?? `node:${t.nodeId}`}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const list of groups.values()) {
    const old = list
      .filter((t) => !isDesiredUp(t.desiredState) && isTerminal(t.state))
      .sort((a, b) => b.createdAt - a.createdAt);
    for (const t of old.slice(historyLimit)) book.delete(t);
  }
}
