import type { AppDeps } from "./api/context.js";
import type { ClusterRow } from "./db/cluster.js";
import { anyDue } from "./db/reconcile-marks.js";
import { reconcileNodeLiveness } from "./dispatcher/reconcile-liveness.js";
import { reconcileTasks } from "./orchestrator/reconcile-tasks.js";

/**
 * The one reconcile entry: called by every authenticated request, the Node
 * timer and the Workers cron. Idempotent and bounded. When no lease expired
 * and no service is marked due (a write marked it, or its timer ran out), it
 * reads two index ranges: O(1).
 */
export async function reconcile(deps: Pick<AppDeps, "db" | "keys" | "notifier">, cluster: ClusterRow, now: number): Promise<void> {
  await reconcileNodeLiveness(deps.db, cluster, now);
  if (await anyDue(deps.db, now)) await reconcileTasks(deps, now);
}
