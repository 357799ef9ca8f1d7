import { and, eq, inArray, sql } from "drizzle-orm";
import { chunks, requireChanged, requireCount, isCasFailure } from "../db/cas.js";
import { getCluster } from "../db/cluster.js";
import { getNodesByIds, listNodes, type NodeRow } from "../db/nodes.js";
import { clearMarks, dueMarks, markServices, type Mark } from "../db/reconcile-marks.js";
import { getServicesByIds, getServicesByNames, getServicesDependingOn } from "../db/services.js";
import { holdsNode, listTasksOfServices, nodeLoads, type TaskRow } from "../db/tasks.js";
import { attachedNetworks, hasIngressPorts, networkIdOf } from "../domain/network.js";
import { isDesiredUp, rank } from "../domain/task-states.js";
import type { NodeLoad } from "../domain/node.js";
import { cluster, events, nodes, services, taskSpecs, tasks } from "../db/schema/index.js";
import { newId } from "../ids.js";
import { emptyAllocationPlan, planAllocations, type AllocationPlan, type AllocationScope } from "../allocator/plan-allocations.js";
import { quarantineMs } from "../allocator/ipam.js";
import { listAllocations, listNetworks, networksHeldBy, setAllocationCursor, releaseAddress, taskHoldersByNode, type AllocationRow, type NetworkRow } from "../db/networks.js";
import { ipAllocations } from "../db/schema/index.js";
import type { ServiceRow } from "../db/services.js";
import { viewOf } from "./context.js";
import type { ReconcileDeps } from "./deps.js";
import { PassQueue } from "./pass-queue.js";
import { planReconcile, type ReconcilePlan } from "./plan-reconcile.js";
import type { TaskUpdate } from "./task-book.js";

/** The address plan for the tasks as the reconcile plan leaves them, and the nodes whose network documents change. */
function planAddresses(
  input: { now: number; nodes: NodeRow[]; services: ServiceRow[]; networks: NetworkRow[]; allocations: AllocationRow[]; scope: AllocationScope },
  plan: ReconcilePlan,
): { addresses: AllocationPlan; wake: Set<string> } {
  const changedSpecs = new Map(plan.services.filter((u) => u.set.spec).map((u) => [u.before.id, u.set.spec!]));
  const services = input.services.map((s) => {
    const spec = changedSpecs.get(s.id) ?? s.spec;
    return { id: s.id, spec, specHash: viewOf({ ...s, spec }).specHash };
  });
  const addresses = planAllocations({ ...input, services, tasks: plan.tasks });
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
function addressWrites(db: ReconcileDeps["db"], addresses: AllocationPlan, networks: NetworkRow[], now: number) {
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

/** These tasks, each still at the version the pass read (the id list lets SQLite look them up by key). */
const asRead = (read: TaskRow[]) =>
  and(
    inArray(tasks.id, read.map((t) => t.id)),
    sql`(${tasks.id}, ${tasks.version}) IN (VALUES ${sql.join(read.map((t) => sql`(${t.id}, ${t.version})`), sql`, `)})`,
  );

function writes(
  deps: Pick<ReconcileDeps, "db">,
  generation: number,
  marks: Mark[],
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
      .set({ generation: generation + 1 })
      .where(sql`${cluster.id} = ${clusterId} AND ${cluster.generation} = ${generation}`),
    requireChanged(db),
  );
  // The marks this pass answered go; a service that waits on a timer is marked due then.
  statements.push(...clearMarks(db, marks));
  for (const [serviceId, at] of plan.wakes) statements.push(...markServices(db, [serviceId], at));
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
  // Same change on many tasks (e.g. assigned to one node) → one statement, guarded on every task's version:
  // status reports do not move the generation, so a task reported since the read makes the plan lose.
  const groups = new Map<string, { set: TaskUpdate["set"]; read: TaskRow[] }>();
  for (const { before, set } of plan.updated) {
    const key = JSON.stringify(set);
    const group = groups.get(key) ?? { set, read: [] };
    group.read.push(before);
    groups.set(key, group);
  }
  for (const { set, read } of groups.values())
    for (const part of chunks(read, 3))
      statements.push(db.update(tasks).set({ ...set, version: sql`${tasks.version} + 1` }).where(asRead(part)), requireCount(db, part.length));
  for (const part of chunks(plan.deleted, 3)) statements.push(db.delete(tasks).where(asRead(part)), requireCount(db, part.length));
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

/** What one pass reads: the due services, the services they depend on, and every task of them. */
interface Scope {
  marks: Mark[];
  /** The due services that exist, and their dependencies. */
  services: ServiceRow[];
  /** Those services' ids, and of due services that were removed (their tasks go). */
  serviceIds: Set<string>;
  tasks: TaskRow[];
}

async function readScope(db: ReconcileDeps["db"], marks: Mark[]): Promise<Scope> {
  const due = await getServicesByIds(db, marks.map((m) => m.serviceId));
  // depends_on: a due service's dependents may start now, and whether a service may start reads its
  // dependencies' tasks, so both are planned with it (dependencies transitively).
  const services = [...due, ...(await getServicesDependingOn(db, due.map((s) => s.name))).filter((d) => !due.some((s) => s.id === d.id))];
  const asked = new Set(services.map((s) => s.name));
  for (;;) {
    const missing = [...new Set(services.flatMap((s) => s.spec.dependsOn ?? []))].filter((name) => !asked.has(name));
    if (missing.length === 0) break;
    for (const name of missing) asked.add(name);
    services.push(...(await getServicesByNames(db, missing)));
  }
  const serviceIds = new Set([...marks.map((m) => m.serviceId), ...services.map((s) => s.id)]);
  return { marks, services, serviceIds, tasks: await listTasksOfServices(db, [...serviceIds]) };
}

/** The scheduler's view of the tasks outside the scope: every node's load less what the scope's own tasks hold. */
function loadsOutside(loads: Map<string, NodeLoad>, scopeTasks: TaskRow[]): Map<string, NodeLoad> {
  const out = new Map([...loads].map(([id, l]) => [id, { taskCount: l.taskCount, reserved: { ...l.reserved }, hostPorts: [...l.hostPorts] }]));
  for (const t of scopeTasks) {
    const load = holdsNode(t) ? out.get(t.nodeId!) : undefined;
    if (!load) continue;
    load.taskCount--;
    load.reserved.nanoCpus -= t.reserveNanoCpus;
    load.reserved.memoryBytes -= t.reserveMemoryBytes;
    for (const port of t.hostPorts) load.hostPorts.splice(load.hostPorts.indexOf(port), 1);
  }
  return out;
}

/** A plan that placed a task, or left one waiting for a node, needed every node to choose from. */
const placedTasks = (plan: ReconcilePlan) =>
  plan.inserted.length > 0 ||
  plan.updated.some((u) => rank(u.before.state) < rank("assigned")) ||
  plan.tasks.some((t) => isDesiredUp(t.desiredState) && rank(t.state) < rank("assigned"));

/**
 * The address plan's inputs for the scope: the networks its services attach to
 * or its tasks hold addresses on, every address of those, and what tasks
 * outside the scope need of them. None when the scope touches no network.
 */
async function readAddressInput(db: ReconcileDeps["db"], scope: Scope, plan: ReconcilePlan, networks: NetworkRow[], held: string[], now: number) {
  const ingressId = networks.find((n) => n.ingress)?.id;
  const idOf = networkIdOf(networks);
  const specs = [...scope.services.map((s) => s.spec), ...plan.services.flatMap((u) => (u.set.spec ? [u.set.spec] : []))];
  const involved = new Set([
    ...specs.flatMap((spec) => attachedNetworks(spec, idOf, ingressId).map((a) => a.networkId)),
    ...held,
  ]);
  if (involved.size === 0) return undefined;
  const [allocations, holders] = await Promise.all([listAllocations(db, now - quarantineMs, [...involved]), taskHoldersByNode(db, [...involved])]);
  const scopeTasks = new Map(scope.tasks.map((t) => [t.id, t]));
  for (const a of allocations) {
    const t = a.kind === "task" && a.releasedAt === null ? scopeTasks.get(a.owner) : undefined;
    const key = t?.nodeId ? `${a.networkId} ${t.nodeId}` : undefined;
    if (key) holders.set(key, holders.get(key)! - 1);
  }
  return {
    networks: networks.filter((n) => involved.has(n.id)),
    allocations,
    nodesInUse: new Set([...holders].filter(([, n]) => n > 0).map(([key]) => key)),
    meshUsedOutside: allocations.some((a) => a.kind === "vip" && a.networkId === ingressId && a.releasedAt === null && !scope.serviceIds.has(a.owner)),
  };
}

/**
 * Runs the orchestrators and the scheduler over the services marked due
 * (reconcile-marks.ts) and writes the result atomically, guarded by the
 * cluster generation. It reads what those services touch: their tasks, the
 * nodes those run on, and — only when a task is to be placed, or the service
 * spans every node (global, rebalance, the routing mesh) — every node with the
 * load the other services put on it. A plan that lost to a concurrent writer
 * is made again from a fresh read; once no mark is due there is nothing to do.
 */
export function reconcileTasks(deps: ReconcileDeps, now: number): Promise<void> {
  let runs = inProcess.get(deps.db);
  if (!runs) inProcess.set(deps.db, (runs = new PassQueue()));
  return runs.run(now, (at) => passes(deps, at));
}

const inProcess = new WeakMap<object, PassQueue>();

async function passes(deps: ReconcileDeps, now: number, attempts = 5): Promise<void> {
  const { db } = deps;
  for (let i = 0; i < attempts; i++) {
    const current = await getCluster(db, deps.keys.clusterId);
    if (!current) return;
    const marks = await dueMarks(db, now);
    if (marks.length === 0) return;
    const [scope, networkRows] = await Promise.all([readScope(db, marks), listNetworks(db)]);
    const held = await networksHeldBy(db, [...scope.serviceIds]);
    const ingressId = networkRows.find((n) => n.ingress)?.id;
    // The routing mesh puts an address on every node: a scope that uses or leaves it plans them all.
    const spansNodes =
      (ingressId !== undefined && held.includes(ingressId)) ||
      scope.services.some(
        (s) => s.spec.mode === "global" || s.spec.mode === "global-job" || s.spec.rebalance || (ingressId !== undefined && hasIngressPorts(s.spec)),
      );
    const input = {
      now,
      cluster: current,
      services: scope.services,
      tasks: scope.tasks,
      newTaskId: () => newId("task"),
    };
    const everyNode = async () => {
      const [nodes, loads] = await Promise.all([listNodes(db), nodeLoads(db)]);
      return { nodes, others: loadsOutside(loads, scope.tasks), allNodes: true };
    };
    let view = spansNodes
      ? await everyNode()
      : { nodes: await getNodesByIds(db, [...new Set(scope.tasks.flatMap((t) => (t.nodeId ? [t.nodeId] : [])))]), others: new Map<string, NodeLoad>(), allNodes: false };
    let plan = planReconcile({ ...input, ...view });
    if (!view.allNodes && placedTasks(plan)) {
      view = await everyNode();
      plan = planReconcile({ ...input, ...view });
    }
    const outside = await readAddressInput(db, scope, plan, networkRows, held, now);
    const { addresses, wake } = outside
      ? planAddresses(
          {
            now,
            nodes: view.nodes,
            services: scope.services,
            networks: outside.networks,
            allocations: outside.allocations,
            scope: {
              owners: new Set([...scope.serviceIds, ...scope.tasks.map((t) => t.id)]),
              nodesInUse: outside.nodesInUse,
              meshUsedOutside: outside.meshUsedOutside,
              allNodes: view.allNodes,
            },
          },
          plan,
        )
      : { addresses: emptyAllocationPlan(), wake: new Set<string>() };
    for (const n of affectedNodes(plan)) wake.add(n);
    try {
      const [first, ...rest] = writes(deps, current.generation, marks, plan, current.id, now, addresses, outside?.networks ?? [], wake);
      await db.batch([first!, ...rest]);
      deps.notifier.notify(wake);
      return;
    } catch (err) {
      if (!isCasFailure(err)) throw err;
    }
  }
}
