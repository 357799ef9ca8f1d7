import type { Db } from "../db/client.js";
import type { ClusterRow } from "../db/cluster.js";
import { listExpiredNodes, markNodeDown } from "../db/nodes.js";

/**
 * Marks nodes whose heartbeats stopped as down, unless the control plane only
 * just started (its grace). With nothing expired this is one indexed read.
 * Returns whether any node went down.
 */
export async function reconcileNodeLiveness(db: Db, cluster: ClusterRow, now: number): Promise<boolean> {
  if (now < cluster.livenessGraceUntil) return false;
  let changed = false;
  for (const node of await listExpiredNodes(db, now)) {
    if (await markNodeDown(db, cluster.id, node, now, "heartbeat failure")) changed = true;
  }
  return changed;
}
