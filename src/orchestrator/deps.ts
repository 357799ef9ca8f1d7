import type { Db } from "../db/client.js";
import type { ClusterRow } from "../db/cluster.js";

/**
 * Wakes agents' long-polls when their assignments change (the dispatcher's
 * notifiers implement it). An optimisation only: a poll always re-reads the
 * store, so a missed wake-up costs at most one re-check interval.
 */
export interface AssignmentNotifier {
  /** Resolves when `nodeId` is notified or after `ms`, whichever comes first. */
  wait(nodeId: string, ms: number): Promise<void>;
  notify(nodeIds: Iterable<string>): void;
}

/** What a reconcile pass needs of the runtime: the store, the cluster it reconciles, and who to wake. */
export interface ReconcileDeps {
  db: Db;
  keys: { clusterId: string };
  notifier: AssignmentNotifier;
  /**
   * Until when this process must not mark `nodeId` down: it saw the node call in (its
   * heartbeat may still be on its way to the store), or it stalled and could not take
   * heartbeats (the Node runtime keeps both); absent where requests share no process (Workers).
   */
  livenessHold?: (cluster: ClusterRow, now: number, nodeId: string) => number;
}
