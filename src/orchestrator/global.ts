import type { NodeRow } from "../db/nodes.js";
import type { TaskRow } from "../db/tasks.js";
import { normalizeArchitecture } from "../scheduler/task-to-schedule.js";
import { isDesiredUp, isTerminal } from "../domain/task-states.js";
import { displacement, meetsConstraints, newTask, type OrchestratorContext, type ServiceView } from "./context.js";
import { shouldRestart } from "./restart.js";
import { rolloutStep, type RolloutStep } from "./rollout.js";

/** A node a global service wants a new task on: ready, active, matching constraints and platforms. */
function takesGlobalTask(node: NodeRow, service: ServiceView): boolean {
  const { platforms } = service.spec.task.placement;
  return (
    node.state === "ready" &&
    node.availability === "active" &&
    meetsConstraints(node, service.spec) &&
    (platforms.length === 0 ||
      platforms.some(
        // As the scheduler's platform filter: an empty field matches anything.
        (p) =>
          (!p.os || p.os.toLowerCase() === node.os.toLowerCase()) &&
          (!p.architecture || normalizeArchitecture(p.architecture) === normalizeArchitecture(node.architecture)),
      ))
  );
}

/**
 * Global orchestrator (and global jobs): one task per eligible node. Down,
 * drained or no-longer-matching nodes lose theirs (no replacement elsewhere);
 * a paused node keeps its task but gets no new one. Jobs run once per spec.
 */
export function planGlobal(ctx: OrchestratorContext, service: ServiceView): ServiceView | undefined {
  const isJob = service.spec.mode === "global-job";
  const byNode = new Map<string, TaskRow[]>();
  for (const t of ctx.book.ofService(service.id)) {
    if (!t.nodeId) continue;
    byNode.set(t.nodeId, [...(byNode.get(t.nodeId) ?? []), t]);
  }
  for (const list of byNode.values()) list.sort((a, b) => b.createdAt - a.createdAt);

  // Jobs re-run everywhere at once; services roll as the update config says.
  const current = [...byNode.values()].flatMap((list) => list.filter((t) => isDesiredUp(t.desiredState)).slice(0, 1));
  const step: RolloutStep = isJob ? { budget: Infinity } : rolloutStep(ctx, service, current);
  if (step.rolledBack) return step.rolledBack;
  let updateBudget = step.budget;

  for (const [nodeId, list] of byNode) {
    for (const task of list.filter((t) => isDesiredUp(t.desiredState))) {
      if (displacement(ctx, task, service.spec)) {
        ctx.book.setDesired(task, "shutdown");
      } else if (task.specHash !== service.specHash) {
        if (updateBudget <= 0 && !isTerminal(task.state)) continue;
        updateBudget--;
        ctx.book.setDesired(task, "shutdown"); // its successor is created below, with the current spec
      } else if (isTerminal(task.state)) {
        const history = list.filter((t) => t !== task);
        if (shouldRestart(task, service.spec.task.restartPolicy, service.spec.mode, history, ctx.now)) {
          ctx.book.setDesired(task, "shutdown");
          newTask(ctx, service, { slot: null, nodeId, attempt: task.attempt + 1, delayMs: service.spec.task.restartPolicy.delayMs });
        }
      }
    }
  }

  for (const node of ctx.nodes.values()) {
    if (!takesGlobalTask(node, service)) continue;
    const tasks = ctx.book.ofService(service.id).filter((t) => t.nodeId === node.id);
    const hasUp = tasks.some((t) => isDesiredUp(t.desiredState));
    const ranThisSpec = isJob && tasks.some((t) => t.specHash === service.specHash && t.state === "complete");
    if (!hasUp && !ranThisSpec) newTask(ctx, service, { slot: null, nodeId: node.id });
  }
  return undefined;
}
