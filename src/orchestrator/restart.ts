import type { TaskRow } from "../db/tasks.js";
import type { ServiceMode, RestartPolicy } from "../domain/service-spec.js";

/**
 * The restart supervisor's decision for a task that stopped while desired up.
 * `history` is the other tasks of its slot (or of its node, for global tasks).
 * Jobs never restart a task that completed: completion is their success.
 */
export function shouldRestart(
  task: TaskRow,
  policy: RestartPolicy,
  mode: ServiceMode,
  history: TaskRow[],
  now: number,
): boolean {
  const isJob = mode === "replicated-job" || mode === "global-job";
  const failed = task.state === "failed" || task.state === "rejected" || (task.exitCode ?? 0) !== 0;
  if (task.state === "complete" && isJob) return false;
  if (policy.condition === "none") return false;
  if (policy.condition === "on-failure" && !failed) return false;
  if (policy.maxAttempts === 0) return true;
  const attempts =
    policy.windowMs > 0
      ? [task, ...history].filter((t) => t.attempt > 0 && t.createdAt >= now - policy.windowMs).length
      : task.attempt;
  return attempts < policy.maxAttempts;
}
