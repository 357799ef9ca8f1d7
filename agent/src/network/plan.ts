import { vxlanOverhead, wireguardRange } from "../../../src/domain/network.js";
import type { NetworkDocument, OverlayNetwork } from "../../../src/protocol/agent-v1.js";
import { bridgeMac, bridgeName, bridgePrefix, dockerNetworkName, iptablesComment, vniOf, vxlanName, vxlanPort, vxlanPrefix, wireguardName } from "./names.js";
import { renderRuleset } from "./nft.js";

/** What the reconciler read of the kernel and the engine (only what carries shoal's names). */
export interface ObservedState {
  /** shb-/shv- links by name. */
  links: Map<string, ObservedLink>;
  /** The interface that holds the underlay address, when found. */
  underlayDevice: string | undefined;
  /** Permanent neighbour entries on shv- devices. */
  neighbours: { dev: string; ip: string; mac: string }[];
  /** Unicast FDB entries with a destination, on shv- devices. */
  fdb: { dev: string; mac: string; dst: string }[];
  /** Main-table routes on shv- devices. */
  routes: { dev: string; dst: string; via?: string }[];
  /** Ports (containers' veths) of shb- bridges, and whether hairpin is on. */
  bridgePorts: { dev: string; master: string; hairpin: boolean }[];
  sysctls: Map<string, string>;
  /** The comment (rules hash) of table `ip shoal`; undefined when there is none. */
  nftHash: string | undefined;
  /** DOCKER-USER rules carrying shoal's comment, as `iptables -S` prints them after "-A DOCKER-USER "; undefined: no such chain. */
  dockerUser: string[] | undefined;
  /** Docker networks carrying shoal's label. */
  dockerNetworks: ObservedDockerNetwork[];
  /** shw- links (WireGuard devices) and what `wg show NAME dump` says of each. */
  wireguard: ObservedWireguard[];
}

export interface ObservedWireguard {
  link: ObservedLink;
  /** The public half of the device's private key; undefined: none set. */
  publicKey: string | undefined;
  listenPort: number | undefined;
  peers: { publicKey: string; endpoint: string; allowedIps: string[] }[];
}

export interface ObservedLink {
  name: string;
  kind: string;
  mac: string;
  mtu: number;
  up: boolean;
  vxlan?: { id: number; local?: string; dev?: string; port: number; learning: boolean };
  /** IPv4 "addr/len". */
  addrs: string[];
}

export interface ObservedDockerNetwork {
  id: string;
  name: string;
  networkId: string;
  subnet?: string;
  gateway?: string;
  bridge?: string;
  mtu?: string;
  masquerade?: string;
  internal: boolean;
}

/** One thing to do; `group` names what it belongs to (a network id, or "firewall"): a failed step skips the rest of its group. */
export type Step = { group: string } & (
  | { kind: "ip"; lines: string[] }
  | { kind: "bridge"; lines: string[] }
  | { kind: "sysctl"; key: string; value: string }
  | { kind: "docker-create"; network: DockerNetworkSpec }
  | { kind: "docker-remove"; name: string }
  | { kind: "iptables"; args: string[] }
  | { kind: "nft"; text: string }
  | { kind: "conntrack"; args: string[] }
  | { kind: "wg-device"; name: string; userspace: boolean }
  | { kind: "wg"; args: string[] }
  | { kind: "issue"; message: string }
);

export interface DockerNetworkSpec {
  name: string;
  networkId: string;
  subnet: string;
  gateway: string;
  bridge: string;
  mtu: number;
  internal: boolean;
}

export interface HostFacts {
  nodeId: string;
  /** The underlay address VXLAN goes out from. */
  underlay: string;
  /** This host's WireGuard, when it can do it. */
  wireguard?: HostWireguard;
}

/** The kernel's WireGuard or wireguard-go, and this host's key (the private half stays in its file). */
export interface HostWireguard {
  kind: "kernel" | "go";
  privateKeyFile: string;
  publicKey: string;
}

/** Steps of this group set up the WireGuard device; when one fails, encrypted networks are left alone. */
export const wireguardGroup = "wireguard";

/** Host-wide sysctls the routed overlay needs whenever a network exists. */
const globalSysctls: [string, string][] = [
  ["net.ipv4.ip_forward", "1"],
  // The host routes between containers of one subnet: redirects would tell them to go direct, which fails.
  ["net.ipv4.conf.all.send_redirects", "0"],
];

/** Per-bridge sysctls: proxy ARP answers for remote tasks and VIPs; its default 80 ms delay made first packets take 300–400 ms. */
const bridgeSysctls = (br: string): [string, string][] => [
  [`net.ipv4.conf.${br}.proxy_arp`, "1"],
  [`net.ipv4.neigh.${br}.proxy_delay`, "0"],
  [`net.ipv4.conf.${br}.send_redirects`, "0"],
];

/** Every sysctl key the plan may set for `doc`: what the reconciler reads back. */
export function sysctlKeys(doc: NetworkDocument): string[] {
  if (doc.networks.length === 0) return [];
  return [...globalSysctls, ...doc.networks.flatMap((n) => bridgeSysctls(bridgeName(n.vni)))].map(([k]) => k);
}

/** DOCKER-USER accepts per network (Docker's FORWARD ends in a DROP policy when it enabled forwarding): our nft forward chain does the filtering. */
export function dockerUserRules(n: OverlayNetwork): string[] {
  const br = bridgeName(n.vni);
  const vx = vxlanName(n.vni);
  const c = `-m comment --comment ${iptablesComment}`;
  return [`-i ${vx} ${c} -j ACCEPT`, `-o ${vx} ${c} -j ACCEPT`, `-o ${br} -m conntrack --ctstate DNAT ${c} -j ACCEPT`];
}

export const dockerNetworkSpec = (n: OverlayNetwork): DockerNetworkSpec => ({
  name: dockerNetworkName(n.id),
  networkId: n.id,
  subnet: n.subnet,
  gateway: n.nodeIp,
  bridge: bridgeName(n.vni),
  mtu: n.mtu,
  internal: n.internal,
});

function dockerNetworkMatches(o: ObservedDockerNetwork, d: DockerNetworkSpec): boolean {
  return o.subnet === d.subnet && o.gateway === d.gateway && o.bridge === d.bridge && o.mtu === String(d.mtu) && o.masquerade === "false" && o.internal === d.internal;
}

/**
 * The pure diff: from the desired document, what was applied before
 * (`previous`, for conntrack clean-up) and the observed state, the steps that
 * make the host match, in order. Converged state gives no steps. Per network:
 * bridge, VXLAN device and its node IP, sysctls, the Docker network, then peers'
 * neighbour/FDB entries and routes (remote tasks, VIPs); then firewall rules
 * and the nft table; networks no longer in the document are removed (Docker
 * network first, so that a network still in use stays whole).
 */
export function planNetwork(doc: NetworkDocument, previous: NetworkDocument | undefined, observed: ObservedState, host: HostFacts): Step[] {
  const steps: Step[] = [];
  const wanted = new Set<string>();
  const realised = doc.networks.filter((n) => {
    if (!n.encrypted || (host.wireguard && doc.wg)) return true;
    const why = host.wireguard ? "the control plane gave this host no WireGuard address" : "this host has no WireGuard (neither the kernel's nor wireguard-go, with wireguard-tools' wg)";
    steps.push({ group: n.id, kind: "issue", message: `network ${n.name} is encrypted and ${why}: not set up rather than left unencrypted` });
    return false;
  });
  const encrypted = realised.filter((n) => n.encrypted);
  if (realised.length && !observed.underlayDevice) {
    steps.push({ group: "underlay", kind: "issue", message: `no interface holds the underlay address ${host.underlay}; overlays not set up` });
    return steps;
  }
  for (const [key, value] of realised.length ? globalSysctls : [])
    if (observed.sysctls.get(key) !== value) steps.push({ group: "host", kind: "sysctl", key, value });

  const tunnel = encrypted.length ? { name: wireguardName(host.nodeId), addr: doc.wg!.addr } : undefined;
  if (tunnel) steps.push(...planWireguard(encrypted, { ...tunnel, port: doc.wg!.port }, observed, host.wireguard!));
  for (const n of realised) {
    wanted.add(bridgeName(n.vni)).add(vxlanName(n.vni));
    // Encrypted networks' VXLAN goes between the tunnel addresses, through the WireGuard device only.
    const under = n.encrypted && tunnel ? { local: tunnel.addr, dev: tunnel.name } : { local: host.underlay, dev: observed.underlayDevice! };
    steps.push(...planDevices(n, observed, under));
    steps.push(...planForwarding(n, observed, host));
  }

  // The firewall: DOCKER-USER accepts (inserted at the top), then the whole nft table at once.
  const rules = realised.flatMap(dockerUserRules);
  if (rules.length && observed.dockerUser === undefined)
    steps.push({ group: "firewall", kind: "issue", message: "iptables chain DOCKER-USER is missing (is dockerd running with iptables enabled?)" });
  const present = new Set(observed.dockerUser ?? []);
  for (const rule of rules) if (observed.dockerUser !== undefined && !present.has(rule)) steps.push({ group: "firewall", kind: "iptables", args: ["-I", "DOCKER-USER", "1", ...rule.split(" ")] });
  for (const rule of observed.dockerUser ?? []) if (!rules.includes(rule)) steps.push({ group: "firewall", kind: "iptables", args: ["-D", "DOCKER-USER", ...rule.split(" ")] });
  if (realised.length || doc.mesh.length) {
    const ruleset = renderRuleset({ ...doc, networks: realised });
    if (observed.nftHash !== ruleset.hash) steps.push({ group: "firewall", kind: "nft", text: ruleset.text });
  } else if (observed.nftHash !== undefined) steps.push({ group: "firewall", kind: "nft", text: "delete table ip shoal\n" });
  steps.push(...planConntrack(previous, doc));

  // What is no longer wanted: Docker networks, then their devices.
  const keep = new Set(realised.map((n) => dockerNetworkName(n.id)));
  const removedVnis = new Set([...observed.links.keys()].filter((l) => !wanted.has(l)).map((l) => vniOf(l)!));
  for (const o of observed.dockerNetworks)
    if (!keep.has(o.name)) {
      const vni = o.bridge ? vniOf(o.bridge) : undefined;
      steps.push({ group: vni !== undefined && removedVnis.has(vni) ? `vni ${vni}` : `docker ${o.name}`, kind: "docker-remove", name: o.name });
    }
  for (const vni of [...removedVnis].sort((a, b) => a - b))
    for (const name of [vxlanName(vni), bridgeName(vni)]) if (observed.links.has(name)) steps.push({ group: `vni ${vni}`, kind: "ip", lines: [`link del ${name}`] });
  // Last: the kernel deletes a VXLAN device with the device under it. wireguard-go exits once its device is gone.
  for (const w of observed.wireguard) if (w.link.name !== tunnel?.name) steps.push({ group: `${wireguardGroup} ${w.link.name}`, kind: "ip", lines: [`link del ${w.link.name}`] });
  return steps;
}

/**
 * The WireGuard device under the encrypted networks (flannel's wireguard
 * backend: one device per host, a peer per remote host): this host's key and
 * port, its tunnel address in the tunnel range, an MTU that leaves the
 * networks' MTU for VXLAN inside it, and one peer per host holding one of these
 * networks, reached at its underlay address, allowed only its tunnel address.
 */
function planWireguard(networks: OverlayNetwork[], tunnel: { name: string; addr: string; port: number }, observed: ObservedState, wg: HostWireguard): Step[] {
  const { name, port } = tunnel;
  const g = wireguardGroup;
  const steps: Step[] = [];
  const have = observed.wireguard.find((w) => w.link.name === name);
  if (!have) steps.push({ group: g, kind: "wg-device", name, userspace: wg.kind === "go" });
  if (have?.publicKey !== wg.publicKey || have.listenPort !== port) steps.push({ group: g, kind: "wg", args: ["set", name, "listen-port", String(port), "private-key", wg.privateKeyFile] });
  const want = new Map<string, { endpoint: string; allowedIps: string[] }>();
  for (const n of networks) for (const p of n.peers) if (p.wg && !want.has(p.wg.publicKey)) want.set(p.wg.publicKey, { endpoint: `${p.underlay}:${p.wg.port}`, allowedIps: [`${p.wg.addr}/32`] });
  const peers = new Map((have?.peers ?? []).map((p) => [p.publicKey, p]));
  for (const [publicKey, p] of [...want].sort(([a], [b]) => a.localeCompare(b))) {
    const o = peers.get(publicKey);
    if (!o || o.endpoint !== p.endpoint || o.allowedIps.join(",") !== p.allowedIps.join(","))
      steps.push({ group: g, kind: "wg", args: ["set", name, "peer", publicKey, "endpoint", p.endpoint, "allowed-ips", p.allowedIps.join(",")] });
  }
  for (const publicKey of peers.keys()) if (!want.has(publicKey)) steps.push({ group: g, kind: "wg", args: ["set", name, "peer", publicKey, "remove"] });
  const mtu = Math.max(...networks.map((n) => n.mtu)) + vxlanOverhead;
  const own = `${tunnel.addr}/${wireguardRange.prefix}`;
  const addrs = have?.link.addrs ?? [];
  const ip = [...addrs.filter((a) => a !== own).map((a) => `addr del ${a} dev ${name}`), ...(addrs.includes(own) ? [] : [`addr add ${own} dev ${name}`])];
  if (have?.link.mtu !== mtu) ip.push(`link set ${name} mtu ${mtu}`);
  if (!have?.link.up) ip.push(`link set ${name} up`);
  if (ip.length) steps.push({ group: g, kind: "ip", lines: ip });
  return steps;
}

/** `under`: the address and device the network's VXLAN goes out from (the underlay's, or the WireGuard tunnel's). */
function planDevices(n: OverlayNetwork, observed: ObservedState, under: { local: string; dev: string }): Step[] {
  const steps: Step[] = [];
  const g = n.id;
  const br = bridgeName(n.vni);
  const vx = vxlanName(n.vni);
  const brMac = bridgeMac(n.vtepMac);
  const bridge = observed.links.get(br);
  if (bridge && bridge.kind !== "bridge") steps.push({ group: g, kind: "ip", lines: [`link del ${br}`] });
  if (!bridge || bridge.kind !== "bridge") steps.push({ group: g, kind: "ip", lines: [`link add ${br} address ${brMac} type bridge`, `link set ${br} up`] });
  else {
    const lines = [];
    if (bridge.mac !== brMac) lines.push(`link set ${br} address ${brMac}`);
    if (!bridge.up) lines.push(`link set ${br} up`);
    if (lines.length) steps.push({ group: g, kind: "ip", lines });
  }

  const vxlan = observed.links.get(vx);
  const v = vxlan?.vxlan;
  const sameVxlan = vxlan?.kind === "vxlan" && v && v.id === n.vni && v.local === under.local && v.dev === under.dev && v.port === vxlanPort && !v.learning;
  if (vxlan && !sameVxlan) steps.push({ group: g, kind: "ip", lines: [`link del ${vx}`] });
  const addrs = sameVxlan ? vxlan.addrs : [];
  if (!sameVxlan)
    steps.push({
      group: g,
      kind: "ip",
      lines: [`link add ${vx} address ${n.vtepMac} mtu ${n.mtu} type vxlan id ${n.vni} dstport ${vxlanPort} local ${under.local} dev ${under.dev} nolearning`],
    });
  else {
    const lines = [];
    if (vxlan.mac !== n.vtepMac.toLowerCase()) lines.push(`link set ${vx} address ${n.vtepMac}`);
    if (vxlan.mtu !== n.mtu) lines.push(`link set ${vx} mtu ${n.mtu}`);
    if (lines.length) steps.push({ group: g, kind: "ip", lines });
  }
  const own = `${n.nodeIp}/32`;
  const addrLines = [...addrs.filter((a) => a !== own).map((a) => `addr del ${a} dev ${vx}`), ...(addrs.includes(own) ? [] : [`addr add ${own} dev ${vx}`])];
  if (!sameVxlan || !vxlan.up) addrLines.push(`link set ${vx} up`);
  if (addrLines.length) steps.push({ group: g, kind: "ip", lines: addrLines });

  for (const [key, value] of bridgeSysctls(br)) if (observed.sysctls.get(key) !== value) steps.push({ group: g, kind: "sysctl", key, value });
  // A task reaching its own service's VIP: br_netfilter bridges the DNATed frame back out of the port it came in on,
  // which a bridge drops unless the port is in hairpin mode (Kubernetes' hairpin-veth, for the same reason).
  const hairpin = observed.bridgePorts.filter((p) => p.master === br && !p.hairpin).map((p) => `link set dev ${p.dev} hairpin on`);
  if (hairpin.length) steps.push({ group: g, kind: "bridge", lines: hairpin });

  // Docker adopts the bridge (com.docker.network.bridge.name), puts the node IP on it as gateway and wires containers.
  const spec = dockerNetworkSpec(n);
  const existing = observed.dockerNetworks.find((o) => o.name === spec.name);
  if (existing && !dockerNetworkMatches(existing, spec)) steps.push({ group: g, kind: "docker-remove", name: spec.name });
  if (!existing || !dockerNetworkMatches(existing, spec)) steps.push({ group: g, kind: "docker-create", network: spec });
  return steps;
}

function planForwarding(n: OverlayNetwork, observed: ObservedState, host: HostFacts): Step[] {
  const g = n.id;
  const vx = vxlanName(n.vni);
  const steps: Step[] = [];
  // A peer of an encrypted network without a tunnel end is left out: never reached in the clear.
  const unreachable = n.encrypted ? n.peers.filter((p) => p.nodeId !== host.nodeId && !p.wg) : [];
  const peers = n.peers.filter((p) => p.nodeId !== host.nodeId && !unreachable.includes(p));
  const byNode = new Map(peers.map((p) => [p.nodeId, p]));

  const wantNeigh = new Map(peers.map((p) => [p.nodeIp, p.vtepMac.toLowerCase()]));
  const haveNeigh = new Map(observed.neighbours.filter((e) => e.dev === vx).map((e) => [e.ip, e.mac.toLowerCase()]));
  const wantFdb = new Map(peers.map((p) => [p.vtepMac.toLowerCase(), n.encrypted ? p.wg!.addr : p.underlay]));
  const haveFdb = observed.fdb.filter((e) => e.dev === vx);
  const wantRoutes = new Map<string, string | undefined>();
  for (const p of peers) wantRoutes.set(p.nodeIp, undefined);
  for (const r of n.routes) {
    if (r.nodeId === host.nodeId) continue;
    const p = byNode.get(r.nodeId);
    if (p) {
      if (!wantRoutes.has(r.ip)) wantRoutes.set(r.ip, p.nodeIp);
    } else if (!unreachable.some((u) => u.nodeId === r.nodeId)) steps.push({ group: g, kind: "issue", message: `network ${n.name}: no peer entry for node ${r.nodeId}, which holds ${r.ip}` });
  }
  for (const s of n.services) if (s.vip && !wantRoutes.has(s.vip)) wantRoutes.set(s.vip, undefined);
  const haveRoutes = new Map(observed.routes.filter((r) => r.dev === vx).map((r) => [r.dst, r.via]));

  const ip: string[] = [];
  for (const [addr, mac] of wantNeigh) if (haveNeigh.get(addr) !== mac) ip.push(`neigh replace ${addr} lladdr ${mac} dev ${vx} nud permanent`);
  for (const addr of haveNeigh.keys()) if (!wantNeigh.has(addr)) ip.push(`neigh del ${addr} dev ${vx}`);
  for (const [dst, via] of [...wantRoutes].sort(([a], [b]) => a.localeCompare(b)))
    if (!haveRoutes.has(dst) || haveRoutes.get(dst) !== via) ip.push(via ? `route replace ${dst}/32 via ${via} dev ${vx} onlink` : `route replace ${dst}/32 dev ${vx}`);
  for (const dst of haveRoutes.keys()) if (!wantRoutes.has(dst.replace(/\/32$/, ""))) ip.push(`route del ${dst} dev ${vx}`);
  const fdb: string[] = [];
  for (const [mac, dst] of wantFdb) {
    const have = haveFdb.filter((e) => e.mac.toLowerCase() === mac);
    if (have.length !== 1 || have[0]!.dst !== dst) {
      for (const e of have) fdb.push(`fdb del ${e.mac} dev ${vx} dst ${e.dst} self`);
      fdb.push(`fdb append ${mac} dev ${vx} dst ${dst} self permanent`);
    }
  }
  for (const e of haveFdb) if (!wantFdb.has(e.mac.toLowerCase())) fdb.push(`fdb del ${e.mac} dev ${vx} dst ${e.dst} self`);
  if (fdb.length) steps.push({ group: g, kind: "bridge", lines: fdb });
  if (ip.length) steps.push({ group: g, kind: "ip", lines: ip });
  for (const u of unreachable) steps.push({ group: g, kind: "issue", message: `network ${n.name} is encrypted and node ${u.nodeId} has no WireGuard: its tasks are not reached` });
  return steps;
}

/**
 * UDP conntrack entries outlive rule changes: a steady sender keeps hitting a
 * removed endpoint. Delete the flows of endpoints (and VIPs, mesh ports) that
 * went away since the previous document (kube-proxy does the same).
 */
export function planConntrack(previous: NetworkDocument | undefined, doc: NetworkDocument): Step[] {
  if (!previous) return [];
  const steps: Step[] = [];
  const del = (args: string[]) => steps.push({ group: "conntrack", kind: "conntrack", args: ["-D", "-p", "udp", ...args] });
  const vips = (d: NetworkDocument) => {
    const m = new Map<string, Set<string>>();
    for (const n of d.networks)
      for (const s of n.services)
        if (s.vip && (s.ports.length === 0 || s.ports.some((p) => p.protocol === "udp"))) m.set(s.vip, new Set(s.endpoints.map((e) => e.ip)));
    return m;
  };
  const now = vips(doc);
  for (const [vip, before] of vips(previous)) {
    const after = now.get(vip);
    if (!after) del(["--orig-dst", vip]);
    else for (const ip of [...before].sort()) if (!after.has(ip)) del(["--orig-dst", vip, "--reply-src", ip]);
  }
  const mesh = (d: NetworkDocument) => new Map(d.mesh.filter((m) => m.protocol === "udp").map((m) => [m.publishedPort, new Set(m.targets)]));
  const meshNow = mesh(doc);
  for (const [port, before] of mesh(previous)) {
    const after = meshNow.get(port) ?? new Set<string>();
    for (const ip of [...before].sort()) if (!after.has(ip)) del(["--orig-port-dst", String(port), "--reply-src", ip]);
  }
  return steps;
}

export const isShoalInterface = (name: string) => (name.startsWith(bridgePrefix) || name.startsWith(vxlanPrefix)) && vniOf(name) !== undefined;
