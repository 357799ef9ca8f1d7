import type { TaskRow } from "../db/tasks.js";
import { addTask } from "../scheduler/node-info.js";
import { newPipeline, passesFilters } from "../scheduler/pipeline.js";
import { prepareTask } from "../scheduler/task-to-schedule.js";
import { isDesiredUp } from "../domain/task-states.js";
import { newTask, type OrchestratorContext, type ServiceView } from "./context.js";
import { nodeInfos, taskToSchedule } from "./schedule.js";

/**
 * Opt-in rebalance (`rebalance: true`), run after the scheduler: for a
 * replicated service that is settled (one task per slot, all running the
 * spec), moves tasks from the node with the most of them to an eligible node
 * with the fewest while the two differ by 2 or more, update.parallelism moves
 * at a time. A move starts the new task on the chosen node; the slot's old
 * task stops once the new one runs (as a start-first update), so the service
 * never has fewer running tasks than desired. Services with placement
 * preferences are left alone: evening out nodes would fight the label spread.
 */
export function rebalanceBook(ctx: OrchestratorContext, services: Map<string, ServiceView>, now: number): void {
  const candidates = [...services.values()].filter(
    (s) => s.spec.rebalance && s.spec.mode === "replicated" && s.spec.task.placement.preferences.length === 0,
  );
  if (candidates.length === 0) return;
  let infos: ReturnType<typeof nodeInfos> | undefined;
  for (const service of candidates) {
    const up = ctx.book.ofService(service.id).filter((t) => isDesiredUp(t.desiredState));
    const settled =
      up.length > 0 &&
      new Set(up.map((t) => t.slot)).size === up.length &&
      up.every((t) => t.state === "running" && t.specHash === service.specHash && t.nodeId !== null);
    if (!settled) continue;
    infos ??= nodeInfos(ctx.book, ctx.nodes, ctx.others, now);
    const prepared = prepareTask(taskToSchedule(up[0]!, service.spec, "spread"));
    const { filters } = newPipeline(prepared);
    const byNode = new Map<string, TaskRow[]>();
    for (const t of up) byNode.set(t.nodeId!, [...(byNode.get(t.nodeId!) ?? []), t]);
    const count = (nodeId: string) => byNode.get(nodeId)?.length ?? 0;
    let moves = service.spec.update.parallelism || up.length;
    while (moves-- > 0) {
      const from = [...byNode.keys()].sort((a, b) => count(b) - count(a) || (a < b ? -1 : 1))[0]!;
      const to = [...infos.values()]
        .filter((n) => n.id !== from && passesFilters(filters, prepared, n))
        .sort((a, b) => count(a.id) - count(b.id) || (a.id < b.id ? -1 : 1))[0];
      if (!to || count(from) - count(to.id) < 2) break;
      const old = byNode.get(from)!.sort((a, b) => b.slot! - a.slot!).shift()!;
      const moved = newTask(ctx, service, { slot: old.slot, nodeId: to.id, attempt: old.attempt });
      Object.assign(moved, { state: "assigned", stateMessage: "rebalanced", stateChangedAt: now });
      addTask(to, { serviceId: service.id, reservations: prepared.reservations, hostPorts: moved.hostPorts });
      byNode.set(to.id, [...(byNode.get(to.id) ?? []), moved]);
    }
  }
}
