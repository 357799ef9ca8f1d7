import type { Db } from "../db/client.js";
import { touchControlPlane, type ClusterRow } from "../db/cluster.js";
import { listExpiredNodes, markNodeDown } from "../db/nodes.js";
import { planLiveness } from "./liveness.js";

/** Marks nodes whose heartbeats stopped as down. Writes only when a lease expired or once a period. */
export async function reconcileNodeLiveness(db: Db, cluster: ClusterRow, now: number): Promise<void> {
  const plan = planLiveness(cluster, now);
  if (plan.touch) await touchControlPlane(db, cluster, now, plan.touch.graceUntil);
  if (!plan.checkLeases) return;
  for (const node of await listExpiredNodes(db, now)) {
    await markNodeDown(db, node, now, "heartbeat failure");
  }
}
