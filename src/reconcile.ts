import { won } from "./db/cas.js";
import type { ClusterRow } from "./db/cluster.js";
import { listExpiredNodes, markNodeDown } from "./db/nodes.js";
import { anyDue } from "./db/reconcile-marks.js";
import type { ReconcileDeps } from "./orchestrator/deps.js";
import { reconcileTasks } from "./orchestrator/reconcile-tasks.js";

/**
 * The one reconcile entry, and the only caller of the orchestrator's pass.
 * Three callers: the API's pipeline step (src/http/pipeline.ts: before a
 * handler, and after every write before its answer), the Node timer and the
 * Workers cron. Idempotent and bounded. When no lease expired and no service
 * is marked due (a write marked it, or its timer ran out), it reads two index
 * ranges: O(1).
 */
export async function reconcile(deps: ReconcileDeps, cluster: ClusterRow, now: number): Promise<void> {
  await reconcileNodeLiveness(deps, cluster, now);
  if (await anyDue(deps.db, now)) await reconcileTasks(deps, now);
}

/**
 * Marks nodes whose heartbeats stopped as down, unless the control plane only
 * just started (its grace), or this process holds the node: it saw the node
 * call in, or it stalled. With nothing expired this is one indexed read.
 * Each node marked down marks the services it touches (markServicesOfNode); a
 * heartbeat that arrived meanwhile wins.
 */
async function reconcileNodeLiveness({ db, livenessHold }: ReconcileDeps, cluster: ClusterRow, now: number): Promise<void> {
  if (now < cluster.livenessGraceUntil) return;
  for (const node of await listExpiredNodes(db, now))
    if (now >= (livenessHold?.(cluster, now, node.id) ?? 0)) await won(markNodeDown(db, cluster.id, node, now, "heartbeat failure"));
}
