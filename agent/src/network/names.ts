import { createHash } from "node:crypto";

/**
 * Names of what the agent makes for overlay networks. It only ever changes or
 * removes things carrying these names (interfaces), this table, this comment
 * (iptables rules) or this label (Docker networks).
 */
export const bridgePrefix = "shb-";
export const vxlanPrefix = "shv-";
export const nftTable = "shoal";
export const iptablesComment = "shoal";
export const networkLabel = "io.shoal.network.id";
export const vxlanPort = 4789;
export const wireguardPrefix = "shw-";

const hex = (vni: number) => vni.toString(16);

/** The Linux bridge Docker's network sits on: `shb-<vni hex>`. */
export const bridgeName = (vni: number) => `${bridgePrefix}${hex(vni)}`;
/** The VXLAN device (not a bridge port: traffic is routed): `shv-<vni hex>`. */
export const vxlanName = (vni: number) => `${vxlanPrefix}${hex(vni)}`;
/**
 * The host's WireGuard device, for all its encrypted networks: `shw-` and a hash
 * of the node id. Per node rather than one fixed name, because wireguard-go's
 * control socket (/var/run/wireguard/NAME.sock) is named after the device, and
 * hosts sharing a filesystem (namespaced test hosts) would take each other's.
 */
export const wireguardName = (nodeId: string) => `${wireguardPrefix}${createHash("sha256").update(nodeId).digest("hex").slice(0, 8)}`;
/** The Docker network of a shoal network. */
export const dockerNetworkName = (networkId: string) => `shoal-${networkId}`;
/** The VNI a shoal interface name stands for, or undefined for other names. */
export function vniOf(ifname: string): number | undefined {
  const m = /^sh[bv]-([0-9a-f]{1,6})$/.exec(ifname);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/**
 * The bridge's MAC, set explicitly: a bridge left to itself takes its lowest
 * port's MAC and changes it as containers come and go. Derived from the VTEP MAC,
 * so it is stable for this host and network.
 */
export function bridgeMac(vtepMac: string): string {
  const bytes = createHash("sha256").update(`bridge ${vtepMac.toLowerCase()}`).digest().subarray(0, 5);
  return ["02", ...[...bytes].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}
