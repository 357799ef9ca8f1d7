import type { TaskRow } from "../db/tasks.js";
import { isDesiredUp, isTerminal } from "../domain/task-states.js";
import { displacement, newTask, type OrchestratorContext, type ServiceView } from "./context.js";
import { shouldRestart } from "./restart.js";
import { configOf, rolloutStep } from "./rollout.js";

const byNewest = (a: TaskRow, b: TaskRow) => b.createdAt - a.createdAt || (b.id < a.id ? -1 : 1);

/** Groups a service's tasks by slot. */
function slotsOf(tasks: TaskRow[]): Map<number, TaskRow[]> {
  const slots = new Map<number, TaskRow[]>();
  for (const t of tasks) {
    if (t.slot === null) continue;
    const list = slots.get(t.slot) ?? [];
    list.push(t);
    slots.set(t.slot, list);
  }
  for (const list of slots.values()) list.sort(byNewest);
  return slots;
}

/**
 * Moves a slot's task off a node it can't stay on, or restarts it when it
 * stopped, per the restart policy. Returns the slot's task from now on.
 */
function superviseSlot(ctx: OrchestratorContext, service: ServiceView, slot: number, task: TaskRow, history: TaskRow[]): TaskRow {
  const moved = displacement(ctx, task, service.spec);
  if (moved && !isTerminal(task.state)) {
    ctx.book.setDesired(task, "shutdown");
    if (moved === "assigned node no longer meets constraints") {
      task.state = "rejected";
      task.stateMessage = moved;
      task.stateChangedAt = ctx.now;
    }
    // Replaced elsewhere at once: no restart delay, not counted as an attempt.
    return newTask(ctx, service, { slot, attempt: task.attempt });
  }
  if (isTerminal(task.state) && shouldRestart(task, service.spec.task.restartPolicy, service.spec.mode, history, ctx.now)) {
    ctx.book.setDesired(task, "shutdown");
    return newTask(ctx, service, { slot, attempt: task.attempt + 1, delayMs: service.spec.task.restartPolicy.delayMs });
  }
  return task;
}

/**
 * Picks a slot's current task among its tasks desired up (newest first) and
 * stops the others once that is safe. A start-first successor takes over when
 * it runs; while it is not running yet, or failed and is being restarted, its
 * predecessor keeps serving. An older task already on the spec (a rollback
 * returning to it) is kept, and the newer ones stop.
 */
function settleSlot(ctx: OrchestratorContext, service: ServiceView, up: TaskRow[]): TaskRow {
  const [newest, ...older] = up as [TaskRow, ...TaskRow[]];
  const onSpec = newest.specHash === service.specHash ? undefined : older.find((t) => t.specHash === service.specHash && !isTerminal(t.state));
  if (onSpec) {
    for (const t of up) if (t !== onSpec) ctx.book.setDesired(t, "shutdown");
    return onSpec;
  }
  const predecessorServes = !isTerminal(newest.state) || older.some((t) => t.state === "running");
  if (newest.state === "running" || !predecessorServes) for (const t of older) ctx.book.setDesired(t, "shutdown");
  return newest;
}

/**
 * Replicated orchestrator: keeps `replicas` slots, each with one task desired
 * up; replaces tasks of down, drained or no-longer-matching nodes; restarts
 * stopped ones per the restart policy; scales; rolls outdated slots to the
 * current spec (src/orchestrator/rollout.ts decides how many at a time).
 * Returns the service as rolled back when the update's failure action did so:
 * the caller plans it again.
 */
export function planReplicated(ctx: OrchestratorContext, service: ServiceView): ServiceView | undefined {
  const { spec } = service;
  const slots = slotsOf(ctx.book.ofService(service.id));
  /** Each occupied slot's current task. */
  const current = new Map<number, TaskRow>();
  for (const [slot, list] of slots) {
    const up = list.filter((t) => isDesiredUp(t.desiredState));
    if (up.length === 0) continue;
    const task = settleSlot(ctx, service, up);
    current.set(slot, superviseSlot(ctx, service, slot, task, list.filter((t) => t !== task)));
  }

  const target = spec.mode === "replicated" ? spec.replicas : 0;
  // Scale up: fill the lowest free slot numbers.
  for (let slot = 1; current.size < target; slot++) {
    if (!current.has(slot)) current.set(slot, newTask(ctx, service, { slot }));
  }
  // Scale down: non-running tasks first, then from the nodes with the most copies; highest slot on ties.
  if (current.size > target) {
    const perNode = new Map<string, number>();
    for (const t of current.values()) if (t.nodeId) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
    while (current.size > target) {
      let victim: [number, TaskRow] | undefined;
      const score = (t: TaskRow) => [t.state === "running" ? 1 : 0, -(perNode.get(t.nodeId ?? "") ?? 0)] as const;
      for (const entry of current) {
        if (!victim) {
          victim = entry;
          continue;
        }
        const [a0, a1] = score(entry[1]);
        const [b0, b1] = score(victim[1]);
        if (a0 < b0 || (a0 === b0 && (a1 < b1 || (a1 === b1 && entry[0] > victim[0])))) victim = entry;
      }
      const [slot, task] = victim!;
      current.delete(slot);
      if (task.nodeId) perNode.set(task.nodeId, perNode.get(task.nodeId)! - 1);
      for (const t of slots.get(slot) ?? [task]) if (isDesiredUp(t.desiredState)) ctx.book.setDesired(t, "remove");
      ctx.book.setDesired(task, "remove");
    }
  }

  const step = rolloutStep(ctx, service, [...current.values()]);
  if (step.rolledBack) return step.rolledBack;
  rollOutdatedSlots(ctx, service, current, step.budget);
  return undefined;
}

/** Replaces up to `budget` outdated slots' tasks, lowest slot first: stop-first, or start-first (the old one stops once the new one runs). */
function rollOutdatedSlots(ctx: OrchestratorContext, service: ServiceView, current: Map<number, TaskRow>, budget: number): void {
  const { order } = configOf(service);
  const outdated = [...current].filter(([, t]) => t.specHash !== service.specHash).sort(([a], [b]) => a - b);
  for (const [slot, old] of outdated.slice(0, budget)) {
    if (order === "stop-first" || old.state !== "running") ctx.book.setDesired(old, "shutdown");
    current.set(slot, newTask(ctx, service, { slot }));
  }
}
