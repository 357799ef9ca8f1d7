import { and, asc, eq, gte, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { requireChanged } from "./cas.js";
import { bumpGeneration } from "./cluster.js";
import { insertEvent } from "./events.js";
import { cluster, ipAllocations, networks, type AllocationKind } from "./schema/index.js";

export type NetworkRow = typeof networks.$inferSelect;
export type AllocationRow = typeof ipAllocations.$inferSelect;

export async function listNetworks(db: Db): Promise<NetworkRow[]> {
  return db.select().from(networks).orderBy(asc(networks.name));
}

/** A network by what a user typed: the full id, else the name, else an id prefix (more than one = ambiguous). */
export async function findNetworksByRef(db: Db, ref: string): Promise<NetworkRow[]> {
  const byId = await db.select().from(networks).where(eq(networks.id, ref));
  if (byId.length) return byId;
  const byName = await db.select().from(networks).where(eq(networks.name, ref));
  if (byName.length) return byName;
  return db
    .select()
    .from(networks)
    .where(and(gte(networks.id, ref), lt(networks.id, `${ref}\uffff`)))
    .limit(2);
}

/** The network's reserved addresses (network, broadcast, gateway) as rows, so the unique index keeps them out of every allocation. */
const reservedRows = (row: NetworkRow, reserved: string[]) =>
  reserved.map((addr) => ({ networkId: row.id, addr, kind: "reserved" as const, owner: row.id, allocatedAt: row.createdAt, releasedAt: null }));

/**
 * Creates a network planned from the networks as read at `networkGeneration`:
 * the batch is guarded on it, so a concurrent create (which could have planned
 * an overlapping subnet or the same VNI) makes this one lose and re-plan.
 */
export async function insertNetwork(db: Db, clusterId: string, networkGeneration: number, row: NetworkRow, reserved: string[]): Promise<void> {
  await db.batch([
    db
      .update(cluster)
      .set({ networkGeneration: networkGeneration + 1 })
      .where(and(eq(cluster.id, clusterId), eq(cluster.networkGeneration, networkGeneration))),
    requireChanged(db),
    db.insert(networks).values(row),
    db.insert(ipAllocations).values(reservedRows(row, reserved)),
    bumpGeneration(db, clusterId),
    insertEvent(db, row.createdAt, "network", "create", row.id, { name: row.name }),
  ]);
}

/** The ingress network, created once (by whichever instance starts first). */
export async function insertIngressIfAbsent(db: Db, row: NetworkRow, reserved: string[]): Promise<void> {
  await db.insert(networks).values(row).onConflictDoNothing();
  const [ingress] = await db.select().from(networks).where(eq(networks.ingress, true));
  if (ingress) await db.insert(ipAllocations).values(reservedRows(ingress, reserved)).onConflictDoNothing();
}

/** Removes a network and its addresses; guarded on the version read. */
export async function deleteNetwork(db: Db, clusterId: string, row: NetworkRow, now: number): Promise<void> {
  await db.batch([
    db.delete(networks).where(and(eq(networks.id, row.id), eq(networks.version, row.version))),
    requireChanged(db),
    db.delete(ipAllocations).where(eq(ipAllocations.networkId, row.id)),
    db
      .update(cluster)
      .set({ networkGeneration: sql`${cluster.networkGeneration} + 1` })
      .where(eq(cluster.id, clusterId)),
    bumpGeneration(db, clusterId),
    insertEvent(db, now, "network", "remove", row.id, { name: row.name }),
  ]);
}

/** Held addresses, and released ones still in quarantine (since `releasedSince`). */
export async function listAllocations(db: Db, releasedSince: number): Promise<AllocationRow[]> {
  return db
    .select()
    .from(ipAllocations)
    .where(or(isNull(ipAllocations.releasedAt), gte(ipAllocations.releasedAt, releasedSince)))
    .orderBy(asc(ipAllocations.networkId), asc(ipAllocations.addr));
}

export async function listHeldAllocations(db: Db): Promise<AllocationRow[]> {
  return db.select().from(ipAllocations).where(isNull(ipAllocations.releasedAt));
}

/**
 * Takes an address: a new row, or a released row whose quarantine ended
 * (released at or before `reusableBefore`). Anything else (held, or still in
 * quarantine) changes no row; batch it with requireChanged, so a lost race
 * aborts the batch and the caller re-plans.
 */
export const allocateAddress = (
  db: Db,
  a: { networkId: string; addr: string; kind: AllocationKind; owner: string },
  now: number,
  reusableBefore: number,
) =>
  db
    .insert(ipAllocations)
    .values({ ...a, allocatedAt: now, releasedAt: null })
    .onConflictDoUpdate({
      target: [ipAllocations.networkId, ipAllocations.addr],
      set: { kind: a.kind, owner: a.owner, allocatedAt: now, releasedAt: null },
      setWhere: and(sql`${ipAllocations.releasedAt} IS NOT NULL`, lte(ipAllocations.releasedAt, reusableBefore)),
    });

/** Releases an address its owner held (quarantine starts now). */
export const releaseAddress = (db: Db, a: { networkId: string; addr: string; owner: string }, now: number) =>
  db
    .update(ipAllocations)
    .set({ releasedAt: now })
    .where(and(eq(ipAllocations.networkId, a.networkId), eq(ipAllocations.addr, a.addr), eq(ipAllocations.owner, a.owner), isNull(ipAllocations.releasedAt)));

export const setAllocationCursor = (db: Db, networkId: string, cursor: number) =>
  db.update(networks).set({ ipCursor: cursor }).where(eq(networks.id, networkId));
