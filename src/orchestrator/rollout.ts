import type { TaskRow } from "../db/tasks.js";
import { isRollback, type UpdateConfig, type UpdateStatus } from "../domain/service-spec.js";
import { isDesiredUp, isTerminal } from "../domain/task-states.js";
import { viewOf, type OrchestratorContext, type ServiceView } from "./context.js";

/** What the planner may do this pass: replace up to `budget` outdated tasks, or plan again with the rolled-back spec. */
export type RolloutStep = { budget: number; rolledBack?: undefined } | { budget: 0; rolledBack: ServiceView };

const isActive = (s: UpdateStatus | null) => s?.state === "updating" || s?.state === "rollback_started";

/** The update config in force: rollback_config while rolling back. */
export const configOf = (service: ServiceView): UpdateConfig => (isRollback(service.updateStatus) ? service.spec.rollback : service.spec.update);

/**
 * A task of this update that stopped within its monitor window: it failed, was
 * rejected, or exited on its own (a service task should not complete).
 */
function failedInMonitor(t: TaskRow, service: ServiceView, startedAt: number, monitorMs: number): boolean {
  if (t.specHash !== service.specHash || t.createdAt < startedAt) return false;
  const stopped = t.state === "failed" || t.state === "rejected" || (t.state === "complete" && !service.spec.mode.endsWith("job"));
  if (!stopped) return false;
  return t.startedAt === null || t.stateChangedAt - t.startedAt <= monitorMs;
}

/**
 * One step of a rolling update over a service's current tasks (one per slot
 * or node), as Swarm's updater: a new task counts as updated once it runs
 * (healthy, where there is a healthcheck); the next batch starts `delay`
 * after; a task of this update that fails within `monitor` of starting is a
 * failure, and more failures than `maxFailureRatio` of the tasks trigger the
 * failure action. The update completes once every task runs the spec and the
 * last one has been watched for `monitor`.
 */
export function rolloutStep(ctx: OrchestratorContext, service: ServiceView, current: TaskRow[]): RolloutStep {
  const status = service.updateStatus;
  if (status?.state === "paused" || status?.state === "rollback_paused") return { budget: 0 };
  const config = configOf(service);
  const rollingBack = isRollback(status);

  if (status && isActive(status)) {
    const failed = ctx.book
      .ofService(service.id)
      .filter((t) => failedInMonitor(t, service, status.startedAt, config.monitorMs))
      .sort((a, b) => a.stateChangedAt - b.stateChangedAt);
    const total = Math.max(1, current.length);
    if (failed.length > 0 && failed.length / total > config.maxFailureRatio && config.failureAction !== "continue") {
      const cause = `failure or early termination of task ${failed[0]!.id}`;
      if (config.failureAction === "rollback" && !rollingBack && service.previousSpec) {
        const updateStatus: UpdateStatus = { state: "rollback_started", message: `update rolled back due to ${cause}`, startedAt: ctx.now };
        ctx.changeService(service, { spec: service.previousSpec, previousSpec: service.spec, updateStatus }, "update.rolled_back");
        return { budget: 0, rolledBack: viewOf({ ...service, spec: service.previousSpec, previousSpec: service.spec, updateStatus }) };
      }
      const state = rollingBack ? "rollback_paused" : "paused";
      ctx.changeService(service, { updateStatus: { ...status, state, message: `${rollingBack ? "rollback" : "update"} paused due to ${cause}` } }, `${rollingBack ? "rollback" : "update"}.paused`);
      return { budget: 0 };
    }
  }

  // In flight: new tasks not yet running, or running for less than `delay`.
  let inFlight = 0;
  let lastStart = -Infinity;
  for (const t of current) {
    if (t.specHash !== service.specHash || !isDesiredUp(t.desiredState) || isTerminal(t.state)) continue;
    if (t.state !== "running") {
      inFlight++;
      continue;
    }
    // Tasks from before started_at was recorded have only the time of their last state change.
    const started = t.startedAt ?? t.stateChangedAt;
    lastStart = Math.max(lastStart, started);
    if (ctx.now < started + config.delayMs) {
      inFlight++;
      ctx.wake(service.id, started + config.delayMs);
    }
  }
  const outdated = current.filter((t) => t.specHash !== service.specHash).length;
  const budget = config.parallelism === 0 ? outdated : Math.max(0, config.parallelism - inFlight);

  if (status && isActive(status) && outdated === 0 && current.every((t) => t.state === "running")) {
    const doneAt = Math.max(lastStart, status.startedAt) + config.monitorMs;
    if (ctx.now >= doneAt) {
      const state = rollingBack ? "rollback_completed" : "completed";
      ctx.changeService(
        service,
        { updateStatus: { ...status, state, message: `${rollingBack ? "rollback" : "update"} completed`, completedAt: ctx.now } },
        `${rollingBack ? "rollback" : "update"}.completed`,
      );
    } else ctx.wake(service.id, doneAt);
  }
  return { budget };
}
