import { formatIpv4, parseCidr, type Cidr } from "./ipv4.js";
import type { ServiceSpec } from "./service-spec.js";

/**
 * Overlay networks: what hosts say they can do for them, and the names and
 * numbers shared by the control plane, the CLI and the agent.
 */

/** What a host can do for overlay networks, from its join and heartbeats (the protocol's `HostDescription.overlay`). */
export interface HostOverlay {
  underlayMtu: number;
  capabilities: { vxlan: boolean; nftables: boolean; conntrack: boolean; wireguard: "kernel" | "go" | "none" };
  wgPublicKey?: string;
}

/** Something the agent could not set up for its networks (the protocol's `Heartbeat.networkIssues`). */
export interface NetworkIssue {
  networkId?: string;
  peerNodeId?: string;
  message: string;
}

/** The routing-mesh network every cluster has, as in Swarm. */
export const ingressNetwork = { name: "ingress", subnet: "10.0.0.0/24", gateway: "10.0.0.1" } as const;

/** VXLAN network identifiers start here, as in Swarm. */
export const firstVni = 4096;
export const maxVni = 16_777_215;

/** Where subnets of networks created without --subnet come from (Swarm's default address pool). */
export const defaultAddressPool = { base: "10.0.0.0/8", size: 24 } as const;

/** Docker's driver options shoal reads. */
export const mtuOption = "com.docker.network.driver.mtu";
export const encryptedOption = "encrypted";

/** VXLAN's overhead on the underlay, and WireGuard's on top of it. */
export const vxlanOverhead = 50;
export const wireguardOverhead = 80;

/** A host that can realise overlay networks. */
export const canOverlay = (o: HostOverlay | null | undefined) => o?.capabilities.vxlan === true;
/** A host that can carry encrypted overlay networks. */
export const canEncrypt = (o: HostOverlay | null | undefined) => canOverlay(o) && o!.capabilities.wireguard !== "none" && !!o!.wgPublicKey;

/**
 * Encrypted networks run VXLAN over one WireGuard device per host (flannel's
 * wireguard backend carries its routes the same way). Each host's tunnel
 * address comes from this range, which no network's subnet may overlap; peers
 * reach each other on this UDP port.
 */
export const wireguardRange = parseCidr("198.18.0.0/15") as Cidr;
export const wireguardPort = 51820;

/**
 * The tunnel address of every host that can encrypt: a hash of its node id into
 * the range, the next free address on a clash (nodes taken in id order). Pure and
 * the same for every host's document; only a clash makes a node's address depend
 * on another's.
 */
export function wireguardAddresses(nodes: { id: string; overlay: HostOverlay | null | undefined }[]): Map<string, string> {
  const size = 2 ** (32 - wireguardRange.prefix) - 2;
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const n of nodes.filter((x) => canEncrypt(x.overlay)).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    // FNV-1a: the same on Node and Workers, no async digest.
    let h = 0x811c9dc5;
    for (const ch of n.id) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    let offset = h % size;
    while (taken.has(offset)) offset = (offset + 1) % size;
    taken.add(offset);
    out.set(n.id, formatIpv4(wireguardRange.base + 1 + offset));
  }
  return out;
}

/** A service publishing a port through the routing mesh joins the ingress network. */
export const hasIngressPorts = (spec: Pick<ServiceSpec, "endpoint">) => spec.endpoint.ports.some((p) => p.publishMode === "ingress");

/** A network a service's tasks join, with the extra names the service has on it. */
export interface NetworkAttachment {
  networkId: string;
  aliases: string[];
}

/**
 * The networks a spec's tasks join, in connection order: the user's networks
 * as listed (targets are network ids, or names stored before networks existed,
 * resolved by `idOf`), then ingress when a port is published through the mesh.
 * A target that names no network is left out.
 */
/** Resolves a service's network target (an id or a name) among these networks. */
export function networkIdOf(networks: { id: string; name: string }[]): (target: string) => string | undefined {
  const ids = new Set(networks.map((n) => n.id));
  const byName = new Map(networks.map((n) => [n.name, n.id]));
  return (target) => (ids.has(target) ? target : byName.get(target));
}

export function attachedNetworks(
  spec: Pick<ServiceSpec, "endpoint"> & { task: Pick<ServiceSpec["task"], "networks"> },
  idOf: (target: string) => string | undefined,
  ingressId: string | undefined,
): NetworkAttachment[] {
  const out: NetworkAttachment[] = [];
  for (const a of spec.task.networks) {
    const networkId = idOf(a.target);
    if (networkId && !out.some((o) => o.networkId === networkId)) out.push({ networkId, aliases: a.aliases });
  }
  if (ingressId && hasIngressPorts(spec) && !out.some((o) => o.networkId === ingressId)) out.push({ networkId: ingressId, aliases: [] });
  return out;
}
