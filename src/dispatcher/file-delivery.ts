import type { TaskSpec } from "../domain/task-spec.js";
import { isDesiredUp, isTerminal, rank, type DesiredState, type TaskState } from "../domain/task-states.js";

/** The stored secrets and configs (by id) one task's assignment carries. */
export interface FilesToDeliver {
  secretIds: string[];
  configIds: string[];
}

const none: FilesToDeliver = { secretIds: [], configIds: [] };

/**
 * Which secrets and configs go with a task to its node: exactly those its
 * spec refers to, and only while the task is to run and has not ended (a
 * task being stopped or one that is over needs none: its container is made
 * already, or never will be). A node gets nothing else, so a secret reaches a
 * host only while a task there needs it. Pure; the assignment long-poll calls
 * it for each task of the asking node.
 */
export function filesToDeliver(task: { desiredState: DesiredState; state: TaskState }, spec: TaskSpec): FilesToDeliver {
  if (!isDesiredUp(task.desiredState) || isTerminal(task.state)) return none;
  // Specs stored before services had secrets have neither list.
  return { secretIds: (spec.task.secrets ?? []).map((r) => r.id), configIds: (spec.task.configs ?? []).map((r) => r.id) };
}

/**
 * Whether a task's assignment carries its service's registry credentials:
 * while it is to run and has not run yet (its node pulls the image while
 * preparing it, never later), so they reach a host only for a pull it is
 * about to make. Pure; the assignment long-poll calls it for each task.
 */
export const deliversRegistryAuth = (task: { desiredState: DesiredState; state: TaskState }) =>
  isDesiredUp(task.desiredState) && rank(task.state) < rank("running");
