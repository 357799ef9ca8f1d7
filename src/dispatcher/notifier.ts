import type { AssignmentNotifier } from "../orchestrator/deps.js";

/** Node: one process serves the polls and the writes, so a wake-up is immediate. */
export function createLocalNotifier(): AssignmentNotifier {
  const waiters = new Map<string, Set<() => void>>();
  return {
    wait(nodeId, ms) {
      return new Promise((resolve) => {
        const set = waiters.get(nodeId) ?? new Set();
        waiters.set(nodeId, set);
        const done = () => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) waiters.delete(nodeId);
          resolve();
        };
        const timer = setTimeout(done, ms);
        set.add(done);
      });
    },
    notify(nodeIds) {
      for (const id of nodeIds) for (const wake of [...(waiters.get(id) ?? [])]) wake();
    },
  };
}

/** Workers: writes happen in other isolates, so a poll just re-checks the store after a short sleep. */
export const pollingNotifier: AssignmentNotifier = {
  wait: (_nodeId, ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  notify() {},
};
