import { hashTaskSpec, taskSpecOf } from "../domain/task-spec.js";
import { isDesiredUp } from "../domain/task-states.js";
import type { Node, Service, Task } from "./api-types.js";
import { truncateId } from "./format/units.js";

/**
 * What `service create/update/scale/rollback` show while they wait, as docker
 * does: "overall progress: N out of M tasks", a line per slot (or node) with
 * its state and a bar, then "verify: Service converged". Pure: one call per
 * poll with what the API answered; the caller prints and decides when to stop.
 */

/** docker's progress steps (new 1 … running 9; complete 10 for jobs). */
const steps: Record<string, number> = {
  new: 1,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
};
const longestState = Math.max(...Object.keys(steps).map((s) => s.length));
/** More slots than this: only the overall line (docker's limit). */
const maxProgressBars = 20;
const barWidth = 50;

export type WaitKind = "create" | "update" | "scale" | "rollback";

export interface ProgressLine {
  id: string;
  text: string;
}

export interface ProgressView {
  lines: ProgressLine[];
  /** Every wanted task runs the current spec (jobs: every completion done), and no out-of-date task is wanted. */
  converged: boolean;
}

function bar(step: number, total: number): string {
  const filled = Math.min(barWidth, Math.floor((step / total) * barWidth));
  return `[${"=".repeat(filled)}>${" ".repeat(barWidth - filled)}]`;
}

const stateText = (t: Task, total: number) =>
  t.status.error ? t.status.error.slice(0, 64) : `${t.status.state.padEnd(longestState)} ${bar(steps[t.status.state] ?? 0, total)}`;

/** Among tasks of one slot or node, the one that shows: the lowest desired state, then the most advanced observed one. */
function pick(a: Task, b: Task): Task {
  const da = isDesiredUp(a.desiredState) ? 0 : 1;
  const db = isDesiredUp(b.desiredState) ? 0 : 1;
  if (da !== db) return da < db ? a : b;
  return (steps[b.status.state] ?? 0) > (steps[a.status.state] ?? 0) ? b : a;
}

export function planProgress(service: Service, tasks: Task[], nodes: Node[], rollingBack: boolean): ProgressView {
  const hash = hashTaskSpec(taskSpecOf(service.spec));
  const activeNodes = new Set(nodes.filter((n) => n.status.state !== "down").map((n) => n.id));
  const current = tasks.filter((t) => t.specHash === hash && (t.nodeId === null || activeNodes.has(t.nodeId)));
  const staleWanted = tasks.some((t) => t.specHash !== hash && isDesiredUp(t.desiredState));
  const mode = service.spec.mode;
  const prefix = rollingBack ? "rolling back update: " : "";

  if (mode === "replicated-job" || mode === "global-job") {
    const complete = current.filter((t) => t.status.state === "complete").length;
    const total = mode === "replicated-job" ? service.spec.replicas : current.length;
    const active = current.filter((t) => isDesiredUp(t.desiredState) && t.status.state === "running").length;
    return {
      lines: [
        { id: "job progress", text: `${complete} out of ${total} complete` },
        { id: "active tasks", text: `${active} out of ${current.filter((t) => isDesiredUp(t.desiredState)).length} tasks` },
      ],
      converged: complete >= total && !staleWanted,
    };
  }

  const bySlot = new Map<string, Task>();
  for (const t of current) {
    if (!isDesiredUp(t.desiredState) && t.status.state !== "running") continue;
    const key = mode === "global" ? (t.nodeId ?? t.id) : String(t.slot);
    const seen = bySlot.get(key);
    bySlot.set(key, seen ? pick(seen, t) : t);
  }
  const shown = [...bySlot.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  const running = shown.filter(([, t]) => isDesiredUp(t.desiredState) && t.status.state === "running").length;
  const desired = mode === "global" ? shown.filter(([, t]) => isDesiredUp(t.desiredState)).length : service.spec.replicas;
  const lines: ProgressLine[] = [{ id: "overall progress", text: `${prefix}${running} out of ${desired} tasks` }];
  if (desired <= maxProgressBars)
    shown.forEach(([key, t], i) => {
      // Slots are numbered 1..M in order, as docker maps them.
      if (mode === "global") lines.push({ id: truncateId(key), text: stateText(t, steps.running!) });
      else if (i < desired) lines.push({ id: `${i + 1}/${desired}`, text: stateText(t, steps.running!) });
    });
  return { lines, converged: running === desired && !staleWanted };
}

export type UpdateVerdict = { done: true } | { failed: string } | { rollingBack: string } | { waiting: true };

/**
 * Reads the service's updateStatus (when the API gives one) for a wait that
 * started at `since` (the API's updatedAt answered by our change): statuses
 * older than our change are someone else's and ignored.
 */
export function judgeUpdateStatus(service: Service, kind: WaitKind, since: string): UpdateVerdict {
  const status = service.updateStatus;
  if (!status || Date.parse(status.startedAt) < Date.parse(since)) return { waiting: true };
  switch (status.state) {
    case "updating":
      return { waiting: true };
    case "completed":
      return { done: true };
    case "paused":
      return { failed: `service update paused: ${status.message}` };
    case "rollback_started":
      return { rollingBack: status.message };
    case "rollback_paused":
      return { failed: `service rollback paused: ${status.message}` };
    case "rollback_completed":
      return kind === "rollback" ? { done: true } : { failed: `service rolled back: ${status.message}` };
  }
}
