/**
 * Swarm's ordered task states. Observed state (written by the agent, or by the
 * control plane on its behalf) only moves forward: a report of a lower state
 * than the stored one is ignored, so late or duplicated reports are harmless.
 */
export const taskStates = [
  "new",
  "pending",
  "assigned",
  "accepted",
  "preparing",
  "ready",
  "starting",
  "running",
  "complete",
  "shutdown",
  "failed",
  "rejected",
  "remove",
  "orphaned",
] as const;
export type TaskState = (typeof taskStates)[number];

const ranks: Record<TaskState, number> = {
  new: 0,
  pending: 64,
  assigned: 192,
  accepted: 256,
  preparing: 320,
  ready: 384,
  starting: 448,
  running: 512,
  complete: 576,
  shutdown: 640,
  failed: 704,
  rejected: 768,
  remove: 800,
  orphaned: 832,
};

export const rank = (s: TaskState) => ranks[s];

/** Whether moving from `from` to `to` goes forward (the only moves allowed). */
export const movesForward = (from: TaskState, to: TaskState) => ranks[to] > ranks[from];

/** Past running: the container exited, was stopped, or never ran. */
export const isTerminal = (s: TaskState) => ranks[s] > ranks.running;

/** What the control plane wants a task to be. `ready`: prepared, started once a restart delay passed. */
export const desiredStates = ["ready", "running", "shutdown", "remove", "complete"] as const;
export type DesiredState = (typeof desiredStates)[number];

/** A task that should exist: not being stopped or removed. */
export const isDesiredUp = (d: DesiredState) => d === "ready" || d === "running";
