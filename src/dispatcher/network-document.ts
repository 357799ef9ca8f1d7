import { sha256Hex } from "../auth/sha256.js";
import type { NetworkView } from "../db/networks.js";
import { parseIpv4 } from "../domain/ipv4.js";
import { attachedNetworks, canEncrypt, canOverlay, networkIdOf, vxlanOverhead, wireguardAddresses, wireguardOverhead, wireguardPort, type NetworkAttachment } from "../domain/network.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { stableJson } from "../domain/task-spec.js";
import type { Assignment, MeshPort, NetworkDocument, OverlayNetwork } from "../protocol/agent-v1.js";

/**
 * What one host must set up for the overlay networks, derived from the store
 * (flannel's routed VXLAN, kube-proxy's endpoints): the networks it holds a
 * node address on, their peers and remote task routes, the services that
 * resolve and balance there, and the routing mesh. Pure but for the token's
 * hash: the same view gives the same document and token.
 */

/** The VXLAN device's MAC on a network: 02:5a and the node address, unique per network like the address. */
export function vtepMacOf(nodeIp: string): string {
  const n = parseIpv4(nodeIp) ?? 0;
  return ["02", "5a", ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** Indexes over a view that every document and attachment lookup shares. */
export class NetworkIndex {
  private readonly byOwner = new Map<string, Map<string, string>>();
  readonly ingressId: string | undefined;
  private readonly idOf: (target: string) => string | undefined;

  constructor(readonly view: NetworkView) {
    for (const a of view.allocations) {
      const mine = this.byOwner.get(a.owner) ?? new Map<string, string>();
      mine.set(a.networkId, a.addr);
      this.byOwner.set(a.owner, mine);
    }
    this.ingressId = view.networks.find((n) => n.ingress)?.id;
    this.idOf = networkIdOf(view.networks);
  }

  /** The address `owner` (a node, service or task) holds on a network. */
  addressOf(owner: string, networkId: string): string | undefined {
    return this.byOwner.get(owner)?.get(networkId);
  }

  networksOf(spec: Pick<ServiceSpec, "endpoint"> & { task: Pick<ServiceSpec["task"], "networks"> }): NetworkAttachment[] {
    return attachedNetworks(spec, this.idOf, this.ingressId);
  }
}

/**
 * A task's attachments, in connection order; undefined while one it needs has
 * no address yet (the task is withheld until the allocator gave it one). A
 * node that cannot do overlays (its agent reports why) runs tasks without
 * their networks: outbound traffic works, discovery and the mesh do not.
 */
export function attachmentsOf(
  index: NetworkIndex,
  taskId: string,
  spec: Pick<ServiceSpec, "endpoint"> & { task: Pick<ServiceSpec["task"], "networks"> },
  nodeCanOverlay: boolean,
): Assignment["attachments"] | undefined {
  const out: Assignment["attachments"] = [];
  if (!nodeCanOverlay) return out;
  for (const n of index.networksOf(spec)) {
    const ip = index.addressOf(taskId, n.networkId);
    if (!ip) return undefined;
    out.push({ networkId: n.networkId, ip, aliases: n.aliases });
  }
  return out;
}

/** The document for one node; undefined for a node that takes no part in overlays. */
export async function buildNetworkDocument(index: NetworkIndex, nodeId: string): Promise<NetworkDocument | undefined> {
  const { view } = index;
  const self = view.nodes.find((n) => n.id === nodeId);
  if (!self || !canOverlay(self.overlay)) return undefined;
  const nodes = new Map(view.nodes.map((n) => [n.id, n]));
  const services = view.services.map((s) => ({ ...s, networks: index.networksOf(s.spec) }));
  const tasksOf = new Map<string, NetworkView["tasks"]>();
  for (const t of view.tasks) tasksOf.set(t.serviceId, [...(tasksOf.get(t.serviceId) ?? []), t]);
  const isEndpoint = (t: NetworkView["tasks"][number]) => t.state === "running" && t.desiredState === "running" && t.nodeId !== null;
  const wgAddrs = wireguardAddresses(view.nodes);
  /** A peer's end of the tunnel; none for a node that cannot encrypt (the network is then not carried to it). */
  const wgOf = (id: string) => {
    const node = nodes.get(id);
    const addr = wgAddrs.get(id);
    return node && addr && canEncrypt(node.overlay) ? { publicKey: node.overlay!.wgPublicKey!, addr, port: wireguardPort } : undefined;
  };

  const networks: OverlayNetwork[] = [];
  for (const network of view.networks) {
    const nodeIp = index.addressOf(nodeId, network.id);
    if (!nodeIp) continue;
    const members = view.allocations.filter((a) => a.networkId === network.id && a.kind === "node");
    const memberIds = new Set(members.map((m) => m.owner));
    const underlayMtu = Math.min(...members.map((m) => nodes.get(m.owner)?.overlay?.underlayMtu ?? Infinity));
    const derivedMtu = (Number.isFinite(underlayMtu) ? underlayMtu : 1500) - vxlanOverhead - (network.encrypted ? wireguardOverhead : 0);
    const routes: OverlayNetwork["routes"] = [];
    for (const t of view.tasks) {
      const ip = t.nodeId && t.nodeId !== nodeId && memberIds.has(t.nodeId) ? index.addressOf(t.id, network.id) : undefined;
      if (ip) routes.push({ ip, nodeId: t.nodeId! });
    }
    networks.push({
      id: network.id,
      name: network.name,
      vni: network.vni,
      subnet: network.subnet,
      mtu: network.mtu ?? derivedMtu,
      encrypted: network.encrypted,
      internal: network.internal,
      ingress: network.ingress,
      nodeIp,
      vtepMac: vtepMacOf(nodeIp),
      peers: members
        .filter((m) => m.owner !== nodeId && nodes.get(m.owner)?.addr && parseIpv4(nodes.get(m.owner)!.addr))
        .map((m) => {
          const wg = network.encrypted ? wgOf(m.owner) : undefined;
          return { nodeId: m.owner, underlay: nodes.get(m.owner)!.addr, nodeIp: m.addr, vtepMac: vtepMacOf(m.addr), ...(wg ? { wg } : {}) };
        })
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
      routes: routes.sort((a, b) => (a.ip < b.ip ? -1 : 1)),
      // Names resolve on user networks only; the mesh balances ingress by itself.
      services: network.ingress
        ? []
        : services
            .flatMap((s) => {
              const attachment = s.networks.find((n) => n.networkId === network.id);
              return attachment ? [{ s, attachment }] : [];
            })
            .map(({ s, attachment }) => {
              const vip = s.spec.endpoint.mode === "vip" ? index.addressOf(s.id, network.id) : undefined;
              return {
                id: s.id,
                name: s.name,
                aliases: attachment.aliases,
                endpointMode: s.spec.endpoint.mode,
                ...(vip ? { vip } : {}),
                ports: s.spec.endpoint.ports.map((p) => ({ protocol: p.protocol, targetPort: p.targetPort })),
                endpoints: (tasksOf.get(s.id) ?? [])
                  .filter(isEndpoint)
                  .flatMap((t) => {
                    const ip = index.addressOf(t.id, network.id);
                    return ip ? [{ taskId: t.id, nodeId: t.nodeId!, ip, dnsName: `${s.name}.${t.slot ?? t.nodeId}.${t.id}` }] : [];
                  })
                  .sort((a, b) => (a.taskId < b.taskId ? -1 : 1)),
              };
            })
            .sort((a, b) => (a.name < b.name ? -1 : 1)),
    });
  }

  const mesh: MeshPort[] = [];
  const ingressId = index.ingressId;
  if (ingressId && index.addressOf(nodeId, ingressId))
    for (const s of services)
      for (const p of s.spec.endpoint.ports)
        if (p.publishMode === "ingress" && p.publishedPort !== undefined)
          mesh.push({
            protocol: p.protocol,
            publishedPort: p.publishedPort,
            targetPort: p.targetPort,
            serviceId: s.id,
            targets: (tasksOf.get(s.id) ?? [])
              .filter(isEndpoint)
              .flatMap((t) => {
                const ip = index.addressOf(t.id, ingressId);
                return ip ? [ip] : [];
              })
              .sort(),
          });
  mesh.sort((a, b) => a.publishedPort - b.publishedPort || (a.protocol < b.protocol ? -1 : 1));

  const selfWg = networks.some((n) => n.encrypted) ? wgOf(nodeId) : undefined;
  const body = { ...(selfWg ? { wg: { addr: selfWg.addr, port: selfWg.port } } : {}), networks, mesh };
  return { token: await sha256Hex(stableJson(body)), ...body };
}
