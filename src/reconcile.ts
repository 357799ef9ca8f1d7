import type { AppDeps } from "./api/context.js";
import type { ClusterRow } from "./db/cluster.js";
import { reconcileNodeLiveness } from "./dispatcher/reconcile-liveness.js";

/**
 * The one reconcile entry: called by every authenticated request, the Node
 * timer and the Workers cron. Idempotent and bounded; with nothing expired it
 * reads one index range and writes nothing.
 */
export async function reconcile(deps: Pick<AppDeps, "db">, cluster: ClusterRow, now: number): Promise<void> {
  await reconcileNodeLiveness(deps.db, cluster, now);
}
