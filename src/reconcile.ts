import type { AppDeps } from "./api/context.js";
import type { ClusterRow } from "./db/cluster.js";
import { reconcileNodeLiveness } from "./dispatcher/reconcile-liveness.js";
import { reconcileTasks } from "./orchestrator/reconcile-tasks.js";

/**
 * The one reconcile entry: called by every authenticated request, the Node
 * timer and the Workers cron. Idempotent and bounded. When no lease expired,
 * nothing changed since the last pass and no restart delay ran out, it reads
 * one index range and compares two numbers of the cluster row: O(1).
 */
export async function reconcile(deps: Pick<AppDeps, "db" | "keys" | "notifier">, cluster: ClusterRow, now: number): Promise<void> {
  const nodesWentDown = await reconcileNodeLiveness(deps.db, cluster, now);
  const due = cluster.wakeAt !== null && now >= cluster.wakeAt;
  if (nodesWentDown || due || cluster.generation !== cluster.reconciledGeneration) await reconcileTasks(deps, now);
}
