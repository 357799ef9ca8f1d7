import type { TaskRow } from "../db/tasks.js";
import { isDesiredUp, isTerminal } from "../domain/task-states.js";
import { displacement, newTask, type OrchestratorContext, type ServiceView } from "./context.js";
import { shouldRestart } from "./restart.js";

/**
 * Replicated jobs: run tasks to completion, `maxConcurrent` at a time, until
 * `replicas` (total completions) of the current spec completed. A completed
 * task is never restarted; a failed one per the restart policy. An update
 * (new spec) stops the old run and starts counting again.
 */
export function planReplicatedJob(ctx: OrchestratorContext, service: ServiceView): void {
  const { spec } = service;
  const tasks = ctx.book.ofService(service.id);
  let completed = 0;
  let active = 0;
  let nextSlot = 1;
  for (const t of tasks) nextSlot = Math.max(nextSlot, (t.slot ?? 0) + 1);

  for (const task of tasks) {
    if (task.specHash !== service.specHash) {
      if (isDesiredUp(task.desiredState)) ctx.book.setDesired(task, "shutdown");
      continue;
    }
    if (task.state === "complete") {
      completed++;
      if (isDesiredUp(task.desiredState)) ctx.book.setDesired(task, "complete");
      continue;
    }
    if (!isDesiredUp(task.desiredState)) continue;
    const history = tasks.filter((t: TaskRow) => t.slot === task.slot && t !== task);
    if (displacement(ctx, task, spec) && !isTerminal(task.state)) {
      ctx.book.setDesired(task, "shutdown");
      newTask(ctx, service, { slot: task.slot, attempt: task.attempt });
      active++;
    } else if (isTerminal(task.state)) {
      if (shouldRestart(task, spec.task.restartPolicy, spec.mode, history, ctx.now)) {
        ctx.book.setDesired(task, "shutdown");
        newTask(ctx, service, { slot: task.slot, attempt: task.attempt + 1, delayMs: spec.task.restartPolicy.delayMs });
        active++;
      }
    } else {
      active++;
    }
  }

  const toStart = Math.min(spec.maxConcurrent - active, spec.replicas - completed - active);
  for (let i = 0; i < toStart; i++) newTask(ctx, service, { slot: nextSlot++ });
}
