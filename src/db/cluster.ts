import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { changedRow, isUniqueViolation } from "./cas.js";
import type { NodeRole } from "../domain/node.js";
import { apiTokens, cluster } from "./schema/index.js";

export type ClusterRow = typeof cluster.$inferSelect;
export type ClusterSettings = Pick<
  ClusterRow,
  "heartbeatPeriodMs" | "missedHeartbeats" | "maxHeartbeatsPerSecond" | "taskHistoryLimit" | "defaultStrategy"
>;

export async function getCluster(db: Db, id: string): Promise<ClusterRow | undefined> {
  return db.query.cluster.findFirst({ where: eq(cluster.id, id) });
}

/**
 * Creates the cluster and its root admin token unless the cluster exists (so a
 * revoked root token stays revoked). Returns whether it created them.
 */
export async function insertClusterIfAbsent(
  db: Db,
  row: typeof cluster.$inferInsert,
  rootToken: typeof apiTokens.$inferInsert,
): Promise<boolean> {
  if (await getCluster(db, row.id)) return false;
  try {
    await db.batch([db.insert(cluster).values(row), db.insert(apiTokens).values(rootToken)]);
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false; // another instance bootstrapped first
    throw err;
  }
}

/** Compare-and-set on the cluster version; a CAS failure when the version was stale. */
export async function updateClusterSettings(
  db: Db,
  id: string,
  version: number,
  settings: Partial<ClusterSettings>,
  now: number,
): Promise<ClusterRow> {
  const rows = await db
    .update(cluster)
    .set({ ...settings, version: version + 1, updatedAt: now })
    .where(and(eq(cluster.id, id), eq(cluster.version, version)))
    .returning();
  return changedRow(rows, `cluster ${id}`);
}

export async function rotateJoinGeneration(db: Db, id: string, role: NodeRole, now: number): Promise<ClusterRow> {
  const column = role === "worker" ? cluster.workerJoinGeneration : cluster.managerJoinGeneration;
  const [row] = await db
    .update(cluster)
    .set({ [role === "worker" ? "workerJoinGeneration" : "managerJoinGeneration"]: sql`${column} + 1`, updatedAt: now })
    .where(eq(cluster.id, id))
    .returning();
  return row!;
}

/** Opens a liveness grace: no node is marked down before `until`. */
export async function beginLivenessGrace(db: Db, id: string, until: number): Promise<void> {
  await db.update(cluster).set({ livenessGraceUntil: until }).where(eq(cluster.id, id));
}

/**
 * Marks that the orchestrator has something to react to; batch it with every
 * change of specs, node state or availability, or task state.
 */
export const bumpGeneration = (db: Db, id: string) =>
  db
    .update(cluster)
    .set({ generation: sql`${cluster.generation} + 1` })
    .where(eq(cluster.id, id));

/** Keeps `node_count` right; batch it with every node insert or delete. */
export const recountNodes = (db: Db, id: string) =>
  db
    .update(cluster)
    .set({ nodeCount: sql`(SELECT count(*) FROM nodes)` })
    .where(eq(cluster.id, id));
