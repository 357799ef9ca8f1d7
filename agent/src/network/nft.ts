import { createHash } from "node:crypto";
import type { MeshPort, NetworkDocument, OverlayNetwork } from "../../../src/protocol/agent-v1.js";
import { formatCidr } from "../../../src/domain/ipv4.js";
import { wireguardRange } from "../../../src/domain/network.js";
import { bridgeName, bridgePrefix, nftTable, vxlanName, vxlanPort, vxlanPrefix, wireguardPrefix } from "./names.js";

/** Marks connections to a VIP or mesh port, so that postrouting SNATs them to the node IP. */
const natMark = "0x4000";

const q = (s: string) => JSON.stringify(s);
const set = (items: string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`);

/** `dnat to` a random one of `targets` (kube-proxy's nftables mode: numgen random over a map). */
function dnatRandom(targets: string[], port?: number): string {
  const item = (t: string) => (port === undefined ? t : `${t} . ${port}`);
  if (targets.length === 1) return `dnat to ${port === undefined ? targets[0] : `${targets[0]}:${port}`}`;
  return `dnat to numgen random mod ${targets.length} map { ${targets.map((t, i) => `${i} : ${item(t)}`).join(", ")} }`;
}

const chainName = (kind: string, id: string) => `${kind}_${id.replace(/[^A-Za-z0-9_]/g, "_")}`;

/** The endpoints' addresses, sorted, without duplicates: the same set gives the same rules. */
const addresses = (ips: string[]) => [...new Set(ips)].sort();

/**
 * The host's whole nftables table `ip shoal`, from the network document. Pure:
 * the same document gives the same text, whose hash (in the table's comment)
 * tells the reconciler whether the kernel holds it.
 *
 * - VIPs (per network, only from its own bridge): DNAT to a random running
 *   endpoint, marked, then SNAT to this host's node IP on the way out, as
 *   Swarm's NAT mode does; a VIP without endpoints is rejected.
 * - The routing mesh: a published port on any local address (prerouting and
 *   output) DNATs to a task on the ingress network, SNAT to the ingress node IP
 *   (MASQUERADE would pick the underlay address).
 * - Isolation: forwarding between shoal interfaces only within one network, or
 *   for connections the rules above DNATed; nothing else enters an overlay.
 * - Egress: containers of non-internal networks are masqueraded to the world.
 * - VXLAN: untracked, and accepted only from peers' underlay addresses.
 */
export function renderRuleset(doc: NetworkDocument): { text: string; hash: string } {
  const body: string[] = [];
  const chains: string[] = [];
  const prerouting: string[] = [];
  const output: string[] = [];
  const postrouting: string[] = [];
  const forward: string[] = [];
  const ingress = doc.networks.find((n) => n.ingress);

  for (const n of [...doc.networks].sort((a, b) => a.vni - b.vni)) renderNetwork(n, { chains, prerouting, postrouting, forward });
  if (ingress) for (const m of [...doc.mesh].sort((a, b) => a.publishedPort - b.publishedPort || a.protocol.localeCompare(b.protocol))) renderMesh(m, { chains, prerouting, output });

  forward.push(
    "ct status dnat accept",
    ...[bridgePrefix, vxlanPrefix].flatMap((i) => [bridgePrefix, vxlanPrefix].map((o) => `iifname "${i}*" oifname "${o}*" drop`)),
    `oifname "${vxlanPrefix}*" drop`,
    `iifname "${vxlanPrefix}*" drop`,
  );
  for (const n of doc.networks)
    if (!n.internal)
      postrouting.push(`ip saddr ${n.subnet} ip daddr != ${n.subnet} oifname != "${bridgePrefix}*" oifname != "${vxlanPrefix}*" masquerade`);

  // Encrypted networks' VXLAN comes out of the WireGuard device, from the peers' tunnel addresses.
  const peers = addresses(doc.networks.flatMap((n) => n.peers.flatMap((p) => [p.underlay, ...(n.encrypted && p.wg ? [p.wg.addr] : [])])));
  const input = [peers.length ? `udp dport ${vxlanPort} ip saddr != ${set(peers)} drop` : `udp dport ${vxlanPort} drop`];

  body.push(
    chain("raw_prerouting", "type filter hook prerouting priority raw; policy accept;", [`udp dport ${vxlanPort} notrack`]),
    // VXLAN for a tunnel address leaves through the WireGuard device or not at all: never in the clear.
    chain("raw_output", "type filter hook output priority raw; policy accept;", [
      ...(doc.networks.some((n) => n.encrypted) ? [`ip daddr ${formatCidr(wireguardRange)} udp dport ${vxlanPort} oifname != "${wireguardPrefix}*" drop`] : []),
      `udp dport ${vxlanPort} notrack`,
    ]),
    chain("prerouting", "type nat hook prerouting priority dstnat - 1; policy accept;", prerouting),
    // nft 1.0.6 refuses "dstnat - 1" in the output hook.
    chain("output", "type nat hook output priority -101; policy accept;", output),
    chain("postrouting", "type nat hook postrouting priority srcnat - 1; policy accept;", postrouting),
    // Before iptables' filter chains: a drop here is final whatever they accept.
    chain("forward", "type filter hook forward priority filter - 1; policy accept;", forward),
    chain("input", "type filter hook input priority filter - 1; policy accept;", input),
    ...chains,
  );
  const inner = body.join("\n");
  const hash = createHash("sha256").update(inner).digest("hex").slice(0, 24);
  const text = `table ip ${nftTable}\ndelete table ip ${nftTable}\ntable ip ${nftTable} {\ncomment ${q(hash)}\n${inner}\n}\n`;
  return { text, hash };
}

function chain(name: string, head: string | undefined, rules: string[]): string {
  return `chain ${name} {\n${head ? `${head}\n` : ""}${rules.map((r) => `${r}\n`).join("")}}`;
}

interface Sections {
  chains: string[];
  prerouting: string[];
  postrouting: string[];
  forward: string[];
}

function renderNetwork(n: OverlayNetwork, s: Sections): void {
  const br = q(bridgeName(n.vni));
  const vx = q(vxlanName(n.vni));
  const verdicts: string[] = [];
  const dead: string[] = [];
  for (const svc of [...n.services].sort((a, b) => a.id.localeCompare(b.id))) {
    if (svc.endpointMode !== "vip" || !svc.vip) continue;
    const targets = addresses(svc.endpoints.map((e) => e.ip));
    if (targets.length === 0) {
      dead.push(svc.vip);
      continue;
    }
    const name = chainName("svc", `${n.vni.toString(16)}_${svc.id}`);
    s.chains.push(chain(name, undefined, [`meta mark set meta mark | ${natMark}`, dnatRandom(targets)]));
    verdicts.push(`${svc.vip} : jump ${name}`);
  }
  if (verdicts.length) s.prerouting.push(`iifname ${br} ip daddr vmap { ${verdicts.join(", ")} }`);
  if (dead.length) s.forward.push(`iifname ${br} ip daddr ${set(addresses(dead))} reject`);
  s.forward.push(`iifname ${br} oifname { ${br}, ${vx} } accept`, `iifname ${vx} oifname ${br} accept`);
  s.postrouting.push(`meta mark & ${natMark} == ${natMark} oifname { ${br}, ${vx} } snat to ${n.nodeIp}`);
}

function renderMesh(m: MeshPort, s: Omit<Sections, "postrouting" | "forward"> & { output: string[] }): void {
  const targets = addresses(m.targets);
  if (targets.length === 0) return;
  const name = chainName("mesh", `${m.protocol}_${m.publishedPort}`);
  s.chains.push(chain(name, undefined, [`meta mark set meta mark | ${natMark}`, `meta l4proto ${m.protocol} ${dnatRandom(targets, m.targetPort)}`]));
  // 127.0.0.0/8 would need route_localnet, a known hazard (CVE-2020-8558): left out, as Swarm leaves it.
  const match = `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto ${m.protocol} th dport ${m.publishedPort} jump ${name}`;
  s.prerouting.push(match);
  s.output.push(match);
}
