import { and, asc, eq, gte, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { chunks, requireChanged } from "./cas.js";
import { bumpGeneration } from "./cluster.js";
import { markAllServices } from "./reconcile-marks.js";
import { insertEvent } from "./events.js";
import { isTerminal, taskStates } from "../domain/task-states.js";
import type { NodeRow } from "./nodes.js";
import { cluster, ipAllocations, networks, nodes, services, tasks, type AllocationKind } from "./schema/index.js";
import type { ServiceRow } from "./services.js";
import type { TaskRow } from "./tasks.js";

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
    markAllServices(db),
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
    markAllServices(db),
    insertEvent(db, now, "network", "remove", row.id, { name: row.name }),
  ]);
}

/** Held addresses, and released ones still in quarantine (since `releasedSince`); of some networks, or all. */
export async function listAllocations(db: Db, releasedSince: number, networkIds?: string[]): Promise<AllocationRow[]> {
  return db
    .select()
    .from(ipAllocations)
    .where(
      and(
        or(isNull(ipAllocations.releasedAt), gte(ipAllocations.releasedAt, releasedSince)),
        networkIds ? inArray(ipAllocations.networkId, networkIds) : undefined,
      ),
    )
    .orderBy(asc(ipAllocations.networkId), asc(ipAllocations.addr));
}

/** The networks where these services, or their tasks, hold addresses. */
export async function networksHeldBy(db: Db, serviceIds: string[]): Promise<string[]> {
  const parts = await Promise.all(
    chunks(serviceIds, 2).map((part) =>
      db
        .selectDistinct({ networkId: ipAllocations.networkId })
        .from(ipAllocations)
        .leftJoin(tasks, and(eq(ipAllocations.kind, "task"), eq(tasks.id, ipAllocations.owner)))
        .where(and(isNull(ipAllocations.releasedAt), or(inArray(ipAllocations.owner, part), inArray(tasks.serviceId, part)))),
    ),
  );
  return [...new Set(parts.flat().map((r) => r.networkId))];
}

/** Per `networkId nodeId`, how many tasks on that node hold an address on that network (of these networks). */
export async function taskHoldersByNode(db: Db, networkIds: string[]): Promise<Map<string, number>> {
  const parts = await Promise.all(
    chunks(networkIds, 1).map((part) =>
      db
        .select({ networkId: ipAllocations.networkId, nodeId: tasks.nodeId, n: sql<number>`count(*)` })
        .from(ipAllocations)
        .innerJoin(tasks, eq(tasks.id, ipAllocations.owner))
        .where(and(eq(ipAllocations.kind, "task"), isNull(ipAllocations.releasedAt), inArray(ipAllocations.networkId, part)))
        .groupBy(ipAllocations.networkId, tasks.nodeId),
    ),
  );
  return new Map(parts.flat().filter((r) => r.nodeId !== null).map((r) => [`${r.networkId} ${r.nodeId}`, Number(r.n)]));
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

/**
 * Wakes the long-polls of every node on a network one of these tasks holds an
 * address on (their endpoints or routes changed); answers the nodes woken.
 */
export async function wakeNetworkMembers(db: Db, taskIds: string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const networkIds = new Set<string>();
  for (const part of chunks(taskIds, 1)) {
    const rows = await db
      .select({ networkId: ipAllocations.networkId })
      .from(ipAllocations)
      .where(and(eq(ipAllocations.kind, "task"), inArray(ipAllocations.owner, part), isNull(ipAllocations.releasedAt)));
    for (const r of rows) networkIds.add(r.networkId);
  }
  if (networkIds.size === 0) return [];
  const members = await db
    .selectDistinct({ nodeId: ipAllocations.owner })
    .from(ipAllocations)
    .where(and(eq(ipAllocations.kind, "node"), inArray(ipAllocations.networkId, [...networkIds]), isNull(ipAllocations.releasedAt)));
  const nodeIds = members.map((m) => m.nodeId);
  for (const part of chunks(nodeIds, 1)) await db.update(nodes).set({ assignmentGeneration: sql`${nodes.assignmentGeneration} + 1` }).where(inArray(nodes.id, part));
  return nodeIds;
}

const liveStates = taskStates.filter((s) => !isTerminal(s));

/** What the network documents are built from: every network, held address, node, service and task not yet terminal. */
export interface NetworkView {
  networks: NetworkRow[];
  allocations: AllocationRow[];
  nodes: Pick<NodeRow, "id" | "addr" | "overlay" | "state">[];
  services: Pick<ServiceRow, "id" | "name" | "spec">[];
  tasks: Pick<TaskRow, "id" | "serviceId" | "nodeId" | "slot" | "state" | "desiredState">[];
}

export async function readNetworkView(db: Db): Promise<NetworkView> {
  const [networkRows, allocations, nodeRows, serviceRows, taskRows] = await Promise.all([
    listNetworks(db),
    listHeldAllocations(db),
    db.select({ id: nodes.id, addr: nodes.addr, overlay: nodes.overlay, state: nodes.state }).from(nodes),
    db.select({ id: services.id, name: services.name, spec: services.spec }).from(services),
    db
      .select({ id: tasks.id, serviceId: tasks.serviceId, nodeId: tasks.nodeId, slot: tasks.slot, state: tasks.state, desiredState: tasks.desiredState })
      .from(tasks)
      .where(inArray(tasks.state, liveStates)),
  ]);
  return { networks: networkRows, allocations, nodes: nodeRows, services: serviceRows, tasks: taskRows };
}

/** A service's virtual IP on one network, in CIDR form as Docker shows it (`10.0.9.2/24`). */
export interface VirtualIp {
  networkId: string;
  addr: string;
}

/** The virtual IPs of these services (all services when omitted), by service id. */
export async function listVirtualIps(db: Db, serviceIds?: string[]): Promise<Map<string, VirtualIp[]>> {
  const rows = await db
    .select({ owner: ipAllocations.owner, networkId: ipAllocations.networkId, addr: ipAllocations.addr, subnet: networks.subnet })
    .from(ipAllocations)
    .innerJoin(networks, eq(networks.id, ipAllocations.networkId))
    .where(and(eq(ipAllocations.kind, "vip"), isNull(ipAllocations.releasedAt), ...(serviceIds ? [inArray(ipAllocations.owner, serviceIds)] : [])))
    .orderBy(asc(ipAllocations.networkId));
  const out = new Map<string, VirtualIp[]>();
  for (const r of rows) out.set(r.owner, [...(out.get(r.owner) ?? []), { networkId: r.networkId, addr: `${r.addr}/${r.subnet.split("/")[1]}` }]);
  return out;
}
