import type { NetworkSummary } from "../docker/client.js";
import { bridgePrefix, iptablesComment, networkLabel, nftTable, vxlanPrefix, wireguardPrefix } from "./names.js";
import { isShoalInterface, type ObservedDockerNetwork, type ObservedLink, type ObservedState, type ObservedWireguard } from "./plan.js";
import type { CommandRunner } from "./runner.js";

interface IpLink {
  ifname: string;
  address?: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean } };
}
interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `ip -j -d link show` + `ip -j addr show` → shoal's links (WireGuard's apart), and the device holding the underlay address. Pure. */
export function parseLinks(
  linksJson: string,
  addrsJson: string,
  underlay: string,
): { links: Map<string, ObservedLink>; wireguardLinks: ObservedLink[]; underlayDevice: string | undefined } {
  const addrs = new Map<string, string[]>();
  let underlayDevice: string | undefined;
  for (const a of JSON.parse(addrsJson || "[]") as IpAddr[])
    for (const i of a.addr_info ?? []) {
      if (i.family !== "inet") continue;
      addrs.set(a.ifname, [...(addrs.get(a.ifname) ?? []), `${i.local}/${i.prefixlen}`]);
      if (i.local === underlay && !isShoalInterface(a.ifname)) underlayDevice = a.ifname;
    }
  const links = new Map<string, ObservedLink>();
  const wireguardLinks: ObservedLink[] = [];
  for (const l of JSON.parse(linksJson || "[]") as IpLink[]) {
    const wg = l.ifname.startsWith(wireguardPrefix);
    if (!isShoalInterface(l.ifname) && !wg) continue;
    const d = l.linkinfo?.info_data;
    const kind = l.linkinfo?.info_kind ?? "";
    const link: ObservedLink = {
      name: l.ifname,
      kind,
      mac: (l.address ?? "").toLowerCase(),
      mtu: l.mtu,
      up: (l.flags ?? []).includes("UP"),
      ...(kind === "vxlan" && d ? { vxlan: { id: d.id ?? 0, local: d.local, dev: d.link, port: d.port ?? 0, learning: d.learning !== false } } : {}),
      addrs: addrs.get(l.ifname) ?? [],
    };
    if (wg) wireguardLinks.push(link);
    else links.set(l.ifname, link);
  }
  return { links, wireguardLinks, underlayDevice };
}

/**
 * `wg show NAME dump` → the device's public key, port and peers. Pure. Its
 * first line holds the private key: read past, never kept.
 */
export function parseWireguardDump(link: ObservedLink, text: string): ObservedWireguard {
  const [head, ...rest] = text.split("\n").filter(Boolean).map((l) => l.split("\t"));
  const none = (v: string | undefined) => (v === undefined || v === "(none)" ? undefined : v);
  const port = Number(head?.[2]);
  return {
    link,
    publicKey: none(head?.[1]),
    listenPort: Number.isInteger(port) && port > 0 ? port : undefined,
    peers: rest.map((p) => ({ publicKey: p[0]!, endpoint: none(p[2]) ?? "", allowedIps: (none(p[3]) ?? "").split(",").filter(Boolean) })),
  };
}

/** `ip -j neigh show nud permanent` → entries on shv- devices. Pure. */
export function parseNeighbours(json: string): ObservedState["neighbours"] {
  return (JSON.parse(json || "[]") as { dst: string; dev?: string; lladdr?: string }[])
    .filter((n) => n.dev?.startsWith(vxlanPrefix) && n.lladdr)
    .map((n) => ({ dev: n.dev!, ip: n.dst, mac: n.lladdr!.toLowerCase() }));
}

/** `bridge -j fdb show` → unicast entries with a remote on shv- devices. Pure. */
export function parseFdb(json: string): ObservedState["fdb"] {
  return (JSON.parse(json || "[]") as { mac: string; ifname?: string; dev?: string; dst?: string }[])
    .map((e) => ({ dev: e.ifname ?? e.dev ?? "", mac: e.mac.toLowerCase(), dst: e.dst ?? "" }))
    .filter((e) => e.dev.startsWith(vxlanPrefix) && e.dst && e.mac !== "00:00:00:00:00:00");
}

/** `bridge -j -d link show` → the ports of shb- bridges. Pure. */
export function parseBridgePorts(json: string): ObservedState["bridgePorts"] {
  return (JSON.parse(json || "[]") as { ifname: string; master?: string; hairpin?: boolean }[])
    .filter((l) => l.master?.startsWith(bridgePrefix))
    .map((l) => ({ dev: l.ifname, master: l.master!, hairpin: l.hairpin === true }));
}

/** `ip -j route show` → main-table routes on shv- devices. Pure. */
export function parseRoutes(json: string): ObservedState["routes"] {
  return (JSON.parse(json || "[]") as { dst: string; dev?: string; gateway?: string; type?: string }[])
    .filter((r) => r.dev?.startsWith(vxlanPrefix) && (r.type === undefined || r.type === "unicast"))
    .map((r) => ({ dev: r.dev!, dst: r.dst, ...(r.gateway ? { via: r.gateway } : {}) }));
}

/** The comment of `nft list table ip shoal` (nft 1.0.6's JSON leaves table comments out). Pure. */
export function parseNftHash(text: string): string | undefined {
  return /^\s*comment "([^"]*)"/m.exec(text)?.[1];
}

/** `iptables -S DOCKER-USER` → our rules, without "-A DOCKER-USER ". Pure. */
export function parseDockerUser(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("-A DOCKER-USER ") && l.includes(`--comment ${iptablesComment} `))
    .map((l) => l.slice("-A DOCKER-USER ".length).trim());
}

export function toObservedDockerNetwork(n: NetworkSummary): ObservedDockerNetwork {
  const ipam = n.IPAM.Config?.[0];
  const o = n.Options ?? {};
  return {
    id: n.Id,
    name: n.Name,
    networkId: n.Labels?.[networkLabel] ?? "",
    subnet: ipam?.Subnet,
    gateway: ipam?.Gateway,
    bridge: o["com.docker.network.bridge.name"],
    mtu: o["com.docker.network.driver.mtu"],
    masquerade: o["com.docker.network.bridge.enable_ip_masquerade"],
    internal: n.Internal,
  };
}

/** Reads the kernel's side: links, addresses, neighbours, FDB, routes, sysctls, the nft table and DOCKER-USER. */
export async function observeKernel(run: CommandRunner, underlay: string, sysctlKeys: string[]): Promise<Omit<ObservedState, "dockerNetworks">> {
  const [links, addrs, neigh, fdb, ports, routes, nft, iptables, sysctls] = await Promise.all([
    run.run("ip", ["-j", "-d", "link", "show"]),
    run.run("ip", ["-j", "addr", "show"]),
    run.run("ip", ["-j", "neigh", "show", "nud", "permanent"]),
    run.run("bridge", ["-j", "fdb", "show"]),
    run.run("bridge", ["-j", "-d", "link", "show"]),
    run.run("ip", ["-j", "route", "show"]),
    // Exit 1: no such table.
    run.run("nft", ["list", "table", "ip", nftTable], { okCodes: [0, 1] }),
    run.run("iptables", ["-w", "5", "-S", "DOCKER-USER"]).then(
      (text) => text,
      () => undefined,
    ),
    readSysctls(run, sysctlKeys),
  ]);
  const parsed = parseLinks(links, addrs, underlay);
  const wireguard = await Promise.all(parsed.wireguardLinks.map(async (l) => parseWireguardDump(l, await run.run("wg", ["show", l.name, "dump"]).catch(() => ""))));
  return {
    links: parsed.links,
    underlayDevice: parsed.underlayDevice,
    wireguard,
    neighbours: parseNeighbours(neigh),
    fdb: parseFdb(fdb),
    bridgePorts: parseBridgePorts(ports),
    routes: parseRoutes(routes),
    nftHash: parseNftHash(nft),
    dockerUser: iptables === undefined ? undefined : parseDockerUser(iptables),
    sysctls,
  };
}

/** Values of `keys`; keys whose interface does not exist yet are left out. */
async function readSysctls(run: CommandRunner, keys: string[]): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  if (keys.length === 0) return values;
  // -e: ignore unknown keys; output "key = value".
  const out = await run.run("sysctl", ["-e", ...keys], { okCodes: [0, 255] });
  for (const line of out.split("\n")) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m) values.set(m[1]!, m[2]!.trim());
  }
  return values;
}
