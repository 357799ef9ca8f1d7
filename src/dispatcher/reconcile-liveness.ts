import type { Db } from "../db/client.js";
import type { ClusterRow } from "../db/cluster.js";
import { listExpiredNodes, markNodeDown } from "../db/nodes.js";

/**
 * Marks nodes whose heartbeats stopped as down, unless the control plane only
 * just started (its grace). With nothing expired this is one indexed read.
 * Each node marked down marks the services it touches (markServicesOfNode).
 */
export async function reconcileNodeLiveness(db: Db, cluster: ClusterRow, now: number): Promise<void> {
  if (now < cluster.livenessGraceUntil) return;
  for (const node of await listExpiredNodes(db, now)) await markNodeDown(db, cluster.id, node, now, "heartbeat failure");
}
