import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppDeps } from "../api/context.js";
import { chunks, requireChanged, isCasFailure } from "../db/cas.js";
import { getCluster } from "../db/cluster.js";
import { listNodes, type NodeRow } from "../db/nodes.js";
import { cluster, events, nodes, services, taskSpecs, tasks } from "../db/schema/index.js";
import { newId } from "../ids.js";
import { planAllocations, type AllocationPlan } from "../allocator/plan-allocations.js";
import { quarantineMs } from "../allocator/ipam.js";
import { listAllocations, listNetworks, setAllocationCursor, releaseAddress, type AllocationRow, type NetworkRow } from "../db/networks.js";
import { ipAllocations } from "../db/schema/index.js";
import type { ServiceRow } from "../db/services.js";
import { viewOf } from "./context.js";
import { planReconcile, type ReconcilePlan } from "./plan-reconcile.js";
import type { TaskUpdate } from "./task-book.js";

/** The address plan for the tasks as the reconcile plan leaves them, and the nodes whose network documents change. */
function planAddresses(
  input: { now: number; nodes: NodeRow[]; services: ServiceRow[]; networks: NetworkRow[]; allocations: AllocationRow[] },
  plan: ReconcilePlan,
): { addresses: AllocationPlan; wake: Set<string> } {
  const changedSpecs = new Map(plan.services.filter((u) => u.set.spec).map((u) => [u.before.id, u.set.spec!]));
  const services = input.services.map((s) => {
    const spec = changedSpecs.get(s.id) ?? s.spec;
    return { id: s.id, spec, specHash: viewOf({ ...s, spec }).specHash };
  });
  const addresses = planAllocations({ now: input.now, networks: input.networks, allocations: input.allocations, services, tasks: plan.tasks, nodes: input.nodes });
  // Networks whose members see something new: addresses came or went, or a task on them changed.
  const changed = new Set(addresses.changed);
  const touched = new Set([...plan.updated.map((u) => u.after.id), ...plan.deleted.map((t) => t.id)]);
  for (const a of input.allocations) if (a.kind === "task" && a.releasedAt === null && touched.has(a.owner)) changed.add(a.networkId);
  const wake = new Set<string>();
  for (const a of [...input.allocations.filter((a) => a.releasedAt === null), ...addresses.allocate])
    if (a.kind === "node" && changed.has(a.networkId)) wake.add(a.owner);
  return { addresses, wake };
}

/** Why a task that got no address waits (Swarm's allocator keeps such a task pending with the same reason). */
const noAddressMessage = (n: Pick<NetworkRow, "name" | "subnet">) => `no free address on network ${n.name} (${n.subnet}): waiting for one to be released`;

/** The address plan's writes. The batch's generation guard orders them: every writer of addresses (this one, network create and remove) moves the generation. */
function addressWrites(db: AppDeps["db"], addresses: AllocationPlan, networks: NetworkRow[], now: number) {
  const statements = [];
  // A task left without an address says why, once (the dispatcher withholds it until it has one).
  for (const n of networks) {
    const starved = addresses.exhausted.filter((a) => a.kind === "task" && a.networkId === n.id).map((a) => a.owner);
    const message = noAddressMessage(n);
    for (const part of chunks(starved, 1))
      statements.push(
        db
          .update(tasks)
          .set({ stateMessage: message, updatedAt: now, version: sql`${tasks.version} + 1` })
          .where(and(inArray(tasks.id, part), sql`${tasks.stateMessage} <> ${message}`)),
      );
  }
  for (const r of addresses.release) statements.push(releaseAddress(db, r, now));
  const rows = addresses.allocate.map((a) => ({ ...a, allocatedAt: now, releasedAt: null }));
  for (const part of chunks(rows, 6))
    statements.push(
      db
        .insert(ipAllocations)
        .values(part)
        .onConflictDoUpdate({
          target: [ipAllocations.networkId, ipAllocations.addr],
          set: { kind: sql`excluded.kind`, owner: sql`excluded.owner`, allocatedAt: now, releasedAt: null },
          setWhere: sql`${ipAllocations.releasedAt} IS NOT NULL`,
        }),
    );
  for (const [networkId, cursor] of addresses.cursors) statements.push(setAllocationCursor(db, networkId, cursor));
  return statements;
}

function writes(
  deps: Pick<AppDeps, "db">,
  generation: number,
  plan: ReconcilePlan,
  clusterId: string,
  now: number,
  addresses: AllocationPlan,
  networks: NetworkRow[],
  wake: Set<string>,
) {
  const { db } = deps;
  const statements = [];
  // The guard: this plan was made from the state at `generation`; anything written since makes it lose.
  statements.push(
    db
      .update(cluster)
      .set({ generation: generation + 1, reconciledGeneration: generation + 1, wakeAt: plan.wakeAt })
      .where(sql`${cluster.id} = ${clusterId} AND ${cluster.generation} = ${generation}`),
    requireChanged(db),
  );
  // Update status, and spec on an automatic rollback: a new version, so a client's update based on the old one conflicts.
  for (const { before, set } of plan.services)
    statements.push(
      db
        .update(services)
        .set({ ...set, version: before.version + 1, updatedAt: now })
        .where(and(eq(services.id, before.id), eq(services.version, before.version))),
    );
  const specs = [...plan.taskSpecs].map(([hash, spec]) => ({ hash, spec }));
  for (const part of chunks(specs, 2)) statements.push(db.insert(taskSpecs).values(part).onConflictDoNothing());
  for (const part of chunks(plan.inserted, Object.keys(plan.inserted[0] ?? {}).length || 1)) statements.push(db.insert(tasks).values(part));
  // Same change on many tasks (e.g. assigned to one node) → one statement.
  const groups = new Map<string, { set: TaskUpdate["set"]; ids: string[] }>();
  for (const { after, set } of plan.updated) {
    const key = JSON.stringify(set);
    const group = groups.get(key) ?? { set, ids: [] };
    group.ids.push(after.id);
    groups.set(key, group);
  }
  for (const { set, ids } of groups.values())
    for (const part of chunks(ids, 1))
      statements.push(db.update(tasks).set({ ...set, version: sql`${tasks.version} + 1` }).where(inArray(tasks.id, part)));
  for (const part of chunks(plan.deleted.map((t) => t.id), 1)) statements.push(db.delete(tasks).where(inArray(tasks.id, part)));
  statements.push(...addressWrites(db, addresses, networks, now));
  for (const part of chunks(plan.events, 6)) statements.push(db.insert(events).values(part));
  // Wake the long-polls of the nodes whose assignments or network documents changed.
  for (const part of chunks([...wake], 1))
    statements.push(db.update(nodes).set({ assignmentGeneration: sql`${nodes.assignmentGeneration} + 1` }).where(inArray(nodes.id, part)));
  return statements;
}

/** Nodes that gained, lost or saw a change to one of their tasks. */
function affectedNodes(plan: ReconcilePlan): Set<string> {
  const ids = new Set<string>();
  for (const t of [...plan.inserted, ...plan.deleted]) if (t.nodeId) ids.add(t.nodeId);
  for (const { before, after } of plan.updated) {
    if (before.nodeId) ids.add(before.nodeId);
    if (after.nodeId) ids.add(after.nodeId);
  }
  return ids;
}

/**
 * Runs the orchestrators and the scheduler over the current state and writes
 * the result atomically, guarded by the cluster generation. A plan that lost
 * to a concurrent writer is made again from a fresh snapshot; once the state
 * is reconciled there is nothing to do.
 */
export async function reconcileTasks(deps: Pick<AppDeps, "db" | "keys" | "notifier">, now: number, attempts = 5): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const current = await getCluster(deps.db, deps.keys.clusterId);
    if (!current) return;
    const due = current.wakeAt !== null && now >= current.wakeAt;
    if (current.generation === current.reconciledGeneration && !due) return;
    const [nodes, serviceRows, taskRows, networkRows, allocations] = await Promise.all([
      listNodes(deps.db),
      deps.db.select().from(services),
      deps.db.select().from(tasks),
      listNetworks(deps.db),
      listAllocations(deps.db, now - quarantineMs),
    ]);
    const plan = planReconcile({
      now,
      cluster: current,
      nodes,
      services: serviceRows,
      tasks: taskRows,
      newTaskId: () => newId("task"),
    });
    const { addresses, wake } = planAddresses({ now, nodes, services: serviceRows, networks: networkRows, allocations }, plan);
    for (const n of affectedNodes(plan)) wake.add(n);
    try {
      const [first, ...rest] = writes(deps, current.generation, plan, current.id, now, addresses, networkRows, wake);
      await deps.db.batch([first!, ...rest]);
      deps.notifier.notify(wake);
      return;
    } catch (err) {
      if (!isCasFailure(err)) throw err;
    }
  }
}
