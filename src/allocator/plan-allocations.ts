import type { AllocationKind } from "../db/schema/networks.js";
import { formatIpv4, parseCidr, parseIpv4, type Cidr } from "../domain/ipv4.js";
import { attachedNetworks, canOverlay, networkIdOf, type HostOverlay } from "../domain/network.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { isTerminal, type TaskState } from "../domain/task-states.js";
import { pickAddresses, quarantineMs } from "./ipam.js";

/**
 * Which addresses should be held, as Swarm's allocator decides them: a VIP
 * per network of every vip-mode service, an address per network for every
 * task until it is terminal, and a node address on each network a node has
 * tasks on (on ingress: every node, while any service publishes through the
 * mesh). Pure: the reconciler writes the plan in its guarded batch.
 */

export interface AllocationNetwork {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  ipCursor: number;
  ingress: boolean;
}

export interface HeldRow {
  networkId: string;
  addr: string;
  kind: AllocationKind;
  owner: string;
  /** null while held. */
  releasedAt: number | null;
}

export interface AllocationInput {
  now: number;
  networks: AllocationNetwork[];
  /** Held rows, and released ones (the quarantine is read from `releasedAt`). */
  allocations: HeldRow[];
  services: { id: string; spec: ServiceSpec; specHash: string }[];
  /** Tasks as the reconcile pass leaves them. */
  tasks: { id: string; serviceId: string; nodeId: string | null; state: TaskState; specHash: string }[];
  nodes: { id: string; overlay: HostOverlay | null }[];
  /** Set when the input is part of the cluster (some services, some nodes): what lies outside it is kept. */
  scope?: AllocationScope;
}

/** What a plan over part of the cluster must know of the rest. */
export interface AllocationScope {
  /** Service and task ids whose VIP and task addresses this plan decides; other owners keep theirs. */
  owners: Set<string>;
  /** `networkId nodeId` of node addresses that tasks outside the plan still need. */
  nodesInUse: Set<string>;
  /** A service outside the plan publishes through the routing mesh. */
  meshUsedOutside: boolean;
  /** `nodes` is every node (else node addresses of nodes not in it are kept). */
  allNodes: boolean;
}

export interface Allocation {
  networkId: string;
  addr: string;
  kind: AllocationKind;
  owner: string;
}

export interface AllocationPlan {
  allocate: Allocation[];
  release: Allocation[];
  /** The last address handed out per network. */
  cursors: Map<string, number>;
  /** Holders that found no free address (the network is full). */
  exhausted: Allocation[];
  /** Networks whose holders changed: the documents of their members change. */
  changed: Set<string>;
}

const keyOf = (a: Pick<Allocation, "networkId" | "kind" | "owner">) => `${a.networkId} ${a.kind} ${a.owner}`;

/** Every (network, kind, owner) that should hold an address. */
function desiredHolders(input: AllocationInput, held: Map<string, HeldRow>): Map<string, Omit<Allocation, "addr">> {
  const idOf = networkIdOf(input.networks);
  const ingressId = input.networks.find((n) => n.ingress)?.id;
  const nodes = new Map(input.nodes.map((n) => [n.id, n]));
  const services = new Map(input.services.map((s) => [s.id, { ...s, networks: attachedNetworks(s.spec, idOf, ingressId) }]));
  const out = new Map<string, Omit<Allocation, "addr">>();
  const want = (a: Omit<Allocation, "addr">) => out.set(keyOf(a), a);

  for (const s of services.values())
    if (s.spec.endpoint.mode === "vip") for (const n of s.networks) want({ networkId: n.networkId, kind: "vip", owner: s.id });

  const meshUsed = input.scope?.meshUsedOutside || [...services.values()].some((s) => s.networks.some((n) => n.networkId === ingressId));
  for (const t of input.tasks) {
    if (isTerminal(t.state)) continue;
    const service = services.get(t.serviceId);
    const node = t.nodeId ? nodes.get(t.nodeId) : undefined;
    const overlay = canOverlay(node?.overlay);
    // A task of an older spec keeps the networks it joined; a current one joins the spec's.
    const networks =
      service && service.specHash === t.specHash
        ? service.networks.map((n) => n.networkId)
        : input.networks.map((n) => n.id).filter((id) => held.has(keyOf({ networkId: id, kind: "task", owner: t.id })));
    for (const networkId of networks) {
      // A node that cannot do overlays runs the task without its networks; the mesh needs the task placed.
      if (node ? !overlay : networkId === ingressId) continue;
      want({ networkId, kind: "task", owner: t.id });
      if (node && overlay && networkId !== ingressId) want({ networkId, kind: "node", owner: node.id });
    }
  }
  if (ingressId && meshUsed) for (const n of input.nodes) if (canOverlay(n.overlay)) want({ networkId: ingressId, kind: "node", owner: n.id });
  return out;
}

export const emptyAllocationPlan = (): AllocationPlan => ({ allocate: [], release: [], cursors: new Map(), exhausted: [], changed: new Set() });

export function planAllocations(input: AllocationInput): AllocationPlan {
  const held = new Map<string, HeldRow>();
  for (const a of input.allocations) if (a.releasedAt === null && a.kind !== "reserved") held.set(keyOf(a), a);
  const desired = desiredHolders(input, held);
  const plan = emptyAllocationPlan();
  const loadedNodes = new Set(input.nodes.map((n) => n.id));
  const keptOutside = (row: HeldRow) => {
    const scope = input.scope;
    if (!scope) return false;
    if (row.kind !== "node") return !scope.owners.has(row.owner);
    return scope.nodesInUse.has(`${row.networkId} ${row.owner}`) || (!scope.allNodes && !loadedNodes.has(row.owner));
  };

  for (const [key, row] of held)
    if (!desired.has(key) && !keptOutside(row)) {
      plan.release.push({ networkId: row.networkId, addr: row.addr, kind: row.kind, owner: row.owner });
      plan.changed.add(row.networkId);
    }

  const wanted = new Map<string, Omit<Allocation, "addr">[]>();
  const kindOrder: AllocationKind[] = ["node", "vip", "task", "reserved"];
  for (const [key, a] of [...desired].sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (held.has(key)) continue;
    wanted.set(a.networkId, [...(wanted.get(a.networkId) ?? []), a]);
  }

  for (const network of input.networks) {
    const holders = (wanted.get(network.id) ?? []).sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind));
    if (holders.length === 0) continue;
    const subnet = parseCidr(network.subnet) as Cidr;
    const gateway = parseIpv4(network.gateway) ?? subnet.base + 1;
    const rows = input.allocations.filter((a) => a.networkId === network.id);
    const taken = new Set<number>();
    const quarantined: { addr: number; releasedAt: number }[] = [];
    const releasedNow = new Set(plan.release.filter((r) => r.networkId === network.id).map((r) => r.addr));
    for (const r of rows) {
      const addr = parseIpv4(r.addr)!;
      if (releasedNow.has(r.addr)) quarantined.push({ addr, releasedAt: input.now });
      else if (r.releasedAt === null) taken.add(addr);
      else if (r.releasedAt > input.now - quarantineMs) quarantined.push({ addr, releasedAt: r.releasedAt });
    }
    const unavailable = new Set([...taken, ...quarantined.map((q) => q.addr)]);
    const picked = pickAddresses({ subnet, gateway, cursor: network.ipCursor }, unavailable, holders.length);
    // Out of fresh addresses: the ones released longest ago come back before the quarantine ends.
    const reuse = quarantined.sort((a, b) => a.releasedAt - b.releasedAt).map((q) => q.addr);
    const addrs = [...picked, ...reuse.slice(0, holders.length - picked.length)];
    holders.forEach((h, i) => {
      const addr = addrs[i];
      if (addr === undefined) {
        plan.exhausted.push({ ...h, addr: "" });
        return;
      }
      plan.allocate.push({ ...h, addr: formatIpv4(addr) });
      plan.changed.add(network.id);
    });
    if (picked.length) plan.cursors.set(network.id, picked[picked.length - 1]!);
  }
  return plan;
}
