import { and, asc, eq, gte, inArray, lt, ne, sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { chunks, requireChanged } from "./cas.js";
import { bumpGeneration, recountNodes } from "./cluster.js";
import { markServicesOfNode } from "./reconcile-marks.js";
import { insertEvent } from "./events.js";
import { nodes } from "./schema/index.js";
import type { NetworkIssue } from "../domain/network.js";

export type NodeRow = typeof nodes.$inferSelect;
export type NodeDescription = Pick<
  NodeRow,
  | "machineId"
  | "hostname"
  | "os"
  | "architecture"
  | "nanoCpus"
  | "memoryBytes"
  | "engineVersion"
  | "engineLabels"
  | "addr"
  | "overlay"
>;

export async function listNodes(db: Db): Promise<NodeRow[]> {
  return db.select().from(nodes).orderBy(asc(nodes.hostname), asc(nodes.id));
}

export async function getNodesByIds(db: Db, ids: string[]): Promise<NodeRow[]> {
  const parts = await Promise.all(chunks(ids, 1).map((part) => db.select().from(nodes).where(inArray(nodes.id, part))));
  return parts.flat();
}

export async function getNode(db: Db, id: string): Promise<NodeRow | undefined> {
  return db.query.nodes.findFirst({ where: eq(nodes.id, id) });
}

/**
 * Finds a node by what a user typed, as docker does: the full id, else a
 * hostname, else an id prefix. More than one row means the reference is ambiguous.
 */
export async function findNodesByRef(db: Db, ref: string): Promise<NodeRow[]> {
  const byId = await getNode(db, ref);
  if (byId) return [byId];
  const byName = await db.select().from(nodes).where(eq(nodes.hostname, ref)).limit(2);
  if (byName.length) return byName;
  return db
    .select()
    .from(nodes)
    .where(and(gte(nodes.id, ref), lt(nodes.id, `${ref}\uffff`)))
    .limit(2);
}

export async function getNodeByMachineId(db: Db, machineId: string): Promise<NodeRow | undefined> {
  return db.query.nodes.findFirst({ where: eq(nodes.machineId, machineId) });
}

/** Inserts a joining node; a concurrent join of the same machine fails on the unique machine id. */
export async function insertNode(db: Db, clusterId: string, row: NodeRow): Promise<void> {
  await db.batch([
    db.insert(nodes).values(row),
    recountNodes(db, clusterId),
    bumpGeneration(db, clusterId),
    markServicesOfNode(db, row.id),
    insertEvent(db, row.createdAt, "node", "join", row.id, { hostname: row.hostname, role: row.role }),
    insertEvent(db, row.createdAt, "node", "ready", row.id, { hostname: row.hostname }),
  ]);
}

/** A known machine joins again: new description and credential generation, guarded on the version read. */
export async function rejoinNode(
  db: Db,
  clusterId: string,
  current: NodeRow,
  description: NodeDescription,
  now: number,
  leaseExpiresAt: number,
): Promise<NodeRow> {
  const [updated] = await db.batch([
    db
      .update(nodes)
      .set({
        ...description,
        version: current.version + 1,
        updatedAt: now,
        state: "ready",
        stateMessage: "",
        lastHeartbeatAt: now,
        leaseExpiresAt,
        credentialGeneration: current.credentialGeneration + 1,
      })
      .where(and(eq(nodes.id, current.id), eq(nodes.version, current.version)))
      .returning(),
    requireChanged(db),
    bumpGeneration(db, clusterId),
    markServicesOfNode(db, current.id),
    insertEvent(db, now, "node", "join", current.id, { hostname: description.hostname, role: current.role }),
    ...(current.state !== "ready" ? [insertEvent(db, now, "node", "ready", current.id, { hostname: description.hostname })] : []),
  ]);
  return updated[0]!;
}

/**
 * A heartbeat from the node's current credential: extends the lease. The node
 * is ready, or down when its agent says the engine is unreachable; a change of
 * state gets a new version, an event and a generation bump.
 */
export async function heartbeatNode(
  db: Db,
  clusterId: string,
  current: NodeRow,
  now: number,
  leaseExpiresAt: number,
  description?: NodeDescription,
  engineDown?: string,
  networkIssues?: NetworkIssue[],
): Promise<void> {
  const state = engineDown ? "down" : "ready";
  const stateChanged = current.state !== state;
  // What the host can do for overlays decides where its networks' addresses go: the allocator must look again.
  const overlayChanged = description !== undefined && JSON.stringify(description.overlay) !== JSON.stringify(current.overlay);
  const changed = stateChanged || description !== undefined;
  const update = db
    .update(nodes)
    .set({
      ...description,
      lastHeartbeatAt: now,
      leaseExpiresAt,
      state,
      stateMessage: engineDown ? `engine unreachable: ${engineDown}` : "",
      ...(networkIssues ? { networkIssues } : {}),
      ...(changed ? { version: current.version + 1, updatedAt: now } : {}),
    })
    .where(
      and(
        eq(nodes.id, current.id),
        eq(nodes.credentialGeneration, current.credentialGeneration),
        changed ? eq(nodes.version, current.version) : undefined,
      ),
    );
  if (!changed) {
    await update;
    return;
  }
  await db.batch([
    update,
    requireChanged(db),
    ...(overlayChanged || stateChanged ? [bumpGeneration(db, clusterId), markServicesOfNode(db, current.id)] : []),
    ...(stateChanged
      ? [
          insertEvent(db, now, "node", state, current.id, { hostname: current.hostname, ...(engineDown ? { reason: "engine unreachable" } : {}) }),
        ]
      : []),
  ]);
}

export type NodeSpecChange = Partial<Pick<NodeRow, "role" | "availability" | "labels">>;

/** Compare-and-set on the node version; a CAS failure when the version was stale or the node is gone. */
export async function updateNodeSpec(
  db: Db,
  clusterId: string,
  id: string,
  version: number,
  change: NodeSpecChange,
  now: number,
): Promise<NodeRow> {
  const [updated] = await db.batch([
    db
      .update(nodes)
      .set({ ...change, version: version + 1, updatedAt: now })
      .where(and(eq(nodes.id, id), eq(nodes.version, version)))
      .returning(),
    requireChanged(db),
    bumpGeneration(db, clusterId),
    markServicesOfNode(db, id),
    insertEvent(db, now, "node", "update", id, changedFields(change)),
  ]);
  return updated[0]!;
}

const changedFields = (change: NodeSpecChange) =>
  Object.fromEntries(
    Object.entries(change)
      .filter(([, v]) => v !== undefined)
      .map(([k]) => [k, "changed"]),
  );

/** Deletes a node (refused while ready unless forced: a CAS failure, as when it is gone); deleting it revokes its credential. */
export async function deleteNode(db: Db, clusterId: string, node: NodeRow, force: boolean, now: number): Promise<void> {
  await db.batch([
    db.delete(nodes).where(and(eq(nodes.id, node.id), force ? undefined : ne(nodes.state, "ready"))),
    requireChanged(db),
    recountNodes(db, clusterId),
    bumpGeneration(db, clusterId),
    markServicesOfNode(db, node.id),
    insertEvent(db, now, "node", "remove", node.id, { hostname: node.hostname }),
  ]);
}

/** Ready nodes whose lease ran out: served by the (state, lease) index, so idle checks stay cheap. */
export async function listExpiredNodes(db: Db, now: number, limit = 1000): Promise<NodeRow[]> {
  return db
    .select()
    .from(nodes)
    .where(and(eq(nodes.state, "ready"), lt(nodes.leaseExpiresAt, now)))
    .limit(limit);
}

/** Marks a node down if its lease is still expired; a CAS failure when a heartbeat that just arrived won. */
export async function markNodeDown(db: Db, clusterId: string, node: NodeRow, now: number, message: string): Promise<void> {
  await db.batch([
    db
      .update(nodes)
      .set({ state: "down", stateMessage: message, version: sql`${nodes.version} + 1`, updatedAt: now })
      .where(and(eq(nodes.id, node.id), eq(nodes.state, "ready"), lt(nodes.leaseExpiresAt, now))),
    requireChanged(db),
    bumpGeneration(db, clusterId),
    markServicesOfNode(db, node.id),
    insertEvent(db, now, "node", "down", node.id, { hostname: node.hostname, reason: message }),
  ]);
}
