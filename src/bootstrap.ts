import { signApiToken } from "./auth/credentials.js";
import type { ClusterKeys } from "./auth/keys.js";
import type { Db } from "./db/client.js";
import { insertClusterIfAbsent, type ClusterSettings } from "./db/cluster.js";
import { insertIngressIfAbsent } from "./db/networks.js";
import { ingressNetworkRow, reservedOf } from "./api/network-writes.js";
import { parseCidr, parseIpv4, type Cidr } from "./domain/ipv4.js";
import { ingressNetwork } from "./domain/network.js";

/** Cluster settings a new cluster starts with (SWARM-REFERENCE.md, with shoal's faster heartbeat). */
export const clusterDefaults: ClusterSettings = {
  heartbeatPeriodMs: 2000,
  missedHeartbeats: 3,
  maxHeartbeatsPerSecond: 100,
  taskHistoryLimit: 5,
  defaultStrategy: "spread",
};

const rootTokenId = "tok_root";

/**
 * The first admin token. Derived from the key alone, so whoever holds the key
 * (the Node state dir, the Worker's secret) can compute it without asking the server.
 */
export const rootAdminToken = (keys: ClusterKeys) => signApiToken(keys, rootTokenId, "admin");

/** Creates the cluster and its ingress network on first start; later starts find them and change nothing. */
export async function bootstrapCluster(db: Db, keys: ClusterKeys, now: number): Promise<{ created: boolean }> {
  const created = await insertClusterIfAbsent(
    db,
    {
      id: keys.clusterId,
      createdAt: now,
      updatedAt: now,
      ...clusterDefaults,
      livenessGraceUntil: now,
    },
    { id: rootTokenId, name: "root", scope: "admin", createdAt: now },
  );
  await insertIngressIfAbsent(db, ingressNetworkRow(now), reservedOf(parseCidr(ingressNetwork.subnet) as Cidr, parseIpv4(ingressNetwork.gateway)!));
  return { created };
}
