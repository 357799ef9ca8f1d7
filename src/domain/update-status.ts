import type { ServiceSpec, UpdateStatus } from "./service-spec.js";
import { changesTasks } from "./task-spec.js";

/**
 * The update status after a user replaces a spec: a change to what the tasks run starts a rolling
 * update; any other write clears a finished one, as SwarmKit does, so that a client waiting for the
 * write to converge (docker service scale) does not read the last update's "completed" as its own.
 * An update in progress or paused stays: it still describes the tasks.
 */
export const statusAfterUpdate = (from: ServiceSpec, to: ServiceSpec, status: UpdateStatus | null, now: number): UpdateStatus | null =>
  changesTasks(from, to) ? { state: "updating", message: "update in progress", startedAt: now } : statusAfterOtherWrite(status);

export const statusAfterOtherWrite = (status: UpdateStatus | null): UpdateStatus | null =>
  status?.state === "completed" || status?.state === "rollback_completed" ? null : status;

export const manualRollbackStatus = (now: number): UpdateStatus => ({ state: "rollback_started", message: "manually requested rollback", startedAt: now });
