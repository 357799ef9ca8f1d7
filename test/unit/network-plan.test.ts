import { describe, expect, it } from "vitest";
import type { NetworkDocument, OverlayNetwork } from "../../src/protocol/agent-v1.js";
import { bridgeMac, wireguardName } from "../../agent/src/network/names.js";
import { renderRuleset } from "../../agent/src/network/nft.js";
import { parseBridgePorts, parseDockerUser, parseFdb, parseLinks, parseNeighbours, parseNftHash, parseRoutes, parseWireguardDump } from "../../agent/src/network/observe.js";
import { dockerUserRules, planNetwork, sysctlKeys, type ObservedState, type Step } from "../../agent/src/network/plan.js";

const host = { nodeId: "node_a", underlay: "10.251.0.11" };

function network(over: Partial<OverlayNetwork> = {}): OverlayNetwork {
  return {
    id: "net_1",
    name: "front",
    vni: 4096,
    subnet: "10.10.1.0/24",
    mtu: 1350,
    encrypted: false,
    internal: false,
    ingress: false,
    nodeIp: "10.10.1.2",
    vtepMac: "02:aa:00:00:00:01",
    peers: [
      { nodeId: "node_a", underlay: "10.251.0.11", nodeIp: "10.10.1.2", vtepMac: "02:aa:00:00:00:01" },
      { nodeId: "node_b", underlay: "10.251.0.12", nodeIp: "10.10.1.3", vtepMac: "02:aa:00:00:00:02" },
    ],
    routes: [
      { ip: "10.10.1.12", nodeId: "node_b" },
      { ip: "10.10.1.11", nodeId: "node_a" },
    ],
    services: [
      {
        id: "svc_web",
        name: "web",
        aliases: [],
        endpointMode: "vip",
        vip: "10.10.1.250",
        ports: [{ protocol: "tcp", targetPort: 80 }],
        endpoints: [
          { taskId: "task_1", nodeId: "node_a", ip: "10.10.1.11", dnsName: "web.1.task_1" },
          { taskId: "task_2", nodeId: "node_b", ip: "10.10.1.12", dnsName: "web.2.task_2" },
        ],
      },
    ],
    ...over,
  };
}

const peerKey = "mR7Yj1Yc3nNq3b2q0S0sEsQpF3v8m7q3sB7Y0m3Z0mE=";
const wgHost = { kind: "go" as const, privateKeyFile: "/state/wireguard.key", publicKey: "dtj3R/5SnFn8tUFuED6qU1pqZmR/f8KknddqgOq1FEE=" };
/** An encrypted network: its peer has a tunnel end. */
function encryptedNetwork(): OverlayNetwork {
  const n = network({ encrypted: true });
  return { ...n, peers: n.peers.map((p) => (p.nodeId === "node_b" ? { ...p, wg: { publicKey: peerKey, addr: "198.18.0.9", port: 51820 } } : p)) };
}

const doc = (networks: OverlayNetwork[], over: Partial<NetworkDocument> = {}): NetworkDocument => ({ token: "t1", networks, mesh: [], ...over });

function empty(): ObservedState {
  return { links: new Map(), underlayDevice: "eth0", neighbours: [], fdb: [], routes: [], bridgePorts: [], sysctls: new Map(), nftHash: undefined, dockerUser: [], dockerNetworks: [], wireguard: [] };
}

/** What the kernel and the engine show once `d` is applied (as read back on these machines). */
function converged(d: NetworkDocument): ObservedState {
  const o = empty();
  for (const key of sysctlKeys(d)) o.sysctls.set(key, key.endsWith("proxy_arp") || key.endsWith("ip_forward") ? "1" : "0");
  for (const n of d.networks) {
    const hex = n.vni.toString(16);
    o.links.set(`shb-${hex}`, { name: `shb-${hex}`, kind: "bridge", mac: bridgeMac(n.vtepMac), mtu: 1500, up: true, addrs: [`${n.nodeIp}/24`] });
    o.links.set(`shv-${hex}`, {
      name: `shv-${hex}`,
      kind: "vxlan",
      mac: n.vtepMac,
      mtu: n.mtu,
      up: true,
      vxlan: { id: n.vni, local: host.underlay, dev: "eth0", port: 4789, learning: false },
      addrs: [`${n.nodeIp}/32`],
    });
    const dev = `shv-${hex}`;
    for (const p of n.peers.filter((p) => p.nodeId !== host.nodeId)) {
      o.neighbours.push({ dev, ip: p.nodeIp, mac: p.vtepMac });
      o.fdb.push({ dev, mac: p.vtepMac, dst: p.underlay });
      o.routes.push({ dev, dst: p.nodeIp });
    }
    for (const r of n.routes.filter((r) => r.nodeId !== host.nodeId)) o.routes.push({ dev, dst: r.ip, via: n.peers.find((p) => p.nodeId === r.nodeId)!.nodeIp });
    for (const s of n.services) if (s.vip) o.routes.push({ dev, dst: s.vip });
    o.dockerNetworks.push({ id: `d${hex}`, name: `shoal-${n.id}`, networkId: n.id, subnet: n.subnet, gateway: n.nodeIp, bridge: `shb-${hex}`, mtu: String(n.mtu), masquerade: "false", internal: n.internal });
    o.dockerUser!.push(...dockerUserRules(n));
  }
  o.nftHash = renderRuleset(d).hash;
  return o;
}

const summary = (steps: Step[]) =>
  steps.map((s) => {
    switch (s.kind) {
      case "ip":
      case "bridge":
        return s.lines.map((l) => `${s.kind} ${l}`);
      case "sysctl":
        return `sysctl ${s.key}=${s.value}`;
      case "iptables":
        return `iptables ${s.args.join(" ")}`;
      case "nft":
        return "nft (table replaced)";
      case "conntrack":
        return `conntrack ${s.args.join(" ")}`;
      case "docker-create":
        return `docker create ${s.network.name} ${s.network.subnet} gw ${s.network.gateway} on ${s.network.bridge} mtu ${s.network.mtu}`;
      case "docker-remove":
        return `docker remove ${s.name}`;
      case "wg-device":
        return `wg-device ${s.name}${s.userspace ? " (wireguard-go)" : ""}`;
      case "wg":
        return `wg ${s.args.join(" ")}`;
      case "issue":
        return `issue ${s.message}`;
    }
  }).flat();

describe("planNetwork (the pure diff)", () => {
  it("sets a network up from nothing, in order: devices, sysctls, Docker network, peers, firewall", () => {
    const d = doc([network()]);
    expect(summary(planNetwork(d, undefined, empty(), host))).toEqual([
      "sysctl net.ipv4.ip_forward=1",
      "sysctl net.ipv4.conf.all.send_redirects=0",
      `ip link add shb-1000 address ${bridgeMac("02:aa:00:00:00:01")} type bridge`,
      "ip link set shb-1000 up",
      "ip link add shv-1000 address 02:aa:00:00:00:01 mtu 1350 type vxlan id 4096 dstport 4789 local 10.251.0.11 dev eth0 nolearning",
      "ip addr add 10.10.1.2/32 dev shv-1000",
      "ip link set shv-1000 up",
      "sysctl net.ipv4.conf.shb-1000.proxy_arp=1",
      "sysctl net.ipv4.neigh.shb-1000.proxy_delay=0",
      "sysctl net.ipv4.conf.shb-1000.send_redirects=0",
      "docker create shoal-net_1 10.10.1.0/24 gw 10.10.1.2 on shb-1000 mtu 1350",
      "bridge fdb append 02:aa:00:00:00:02 dev shv-1000 dst 10.251.0.12 self permanent",
      "ip neigh replace 10.10.1.3 lladdr 02:aa:00:00:00:02 dev shv-1000 nud permanent",
      "ip route replace 10.10.1.12/32 via 10.10.1.3 dev shv-1000 onlink",
      "ip route replace 10.10.1.250/32 dev shv-1000",
      "ip route replace 10.10.1.3/32 dev shv-1000",
      "iptables -I DOCKER-USER 1 -i shv-1000 -m comment --comment shoal -j ACCEPT",
      "iptables -I DOCKER-USER 1 -o shv-1000 -m comment --comment shoal -j ACCEPT",
      "iptables -I DOCKER-USER 1 -o shb-1000 -m conntrack --ctstate DNAT -m comment --comment shoal -j ACCEPT",
      "nft (table replaced)",
    ]);
  });

  it("does nothing once the host matches (idempotent: an agent restart changes nothing)", () => {
    const d = doc([network(), network({ id: "net_2", name: "back", vni: 4097, subnet: "10.10.2.0/24", nodeIp: "10.10.2.2", internal: true, services: [] })]);
    expect(planNetwork(d, d, converged(d), host)).toEqual([]);
  });

  it("repairs drift only: a deleted route, a stray neighbour, a flushed DOCKER-USER rule, a replaced MAC, a port without hairpin", () => {
    const d = doc([network()]);
    const o = converged(d);
    o.routes = o.routes.filter((r) => r.dst !== "10.10.1.12");
    o.neighbours.push({ dev: "shv-1000", ip: "10.10.1.9", mac: "02:aa:00:00:00:09" });
    o.dockerUser = o.dockerUser!.slice(1);
    o.links.get("shb-1000")!.mac = "02:42:00:00:00:01";
    // A container just attached (hairpin off), one set up before, and a port of a bridge that is not this network's.
    o.bridgePorts.push({ dev: "veth1a", master: "shb-1000", hairpin: false }, { dev: "veth2b", master: "shb-1000", hairpin: true }, { dev: "veth3c", master: "shb-2000", hairpin: false });
    expect(summary(planNetwork(d, d, o, host))).toEqual([
      `ip link set shb-1000 address ${bridgeMac("02:aa:00:00:00:01")}`,
      "bridge link set dev veth1a hairpin on",
      "ip neigh del 10.10.1.9 dev shv-1000",
      "ip route replace 10.10.1.12/32 via 10.10.1.3 dev shv-1000 onlink",
      "iptables -I DOCKER-USER 1 -i shv-1000 -m comment --comment shoal -j ACCEPT",
    ]);
  });

  it("follows the document: a task moved to another peer, a peer that left", () => {
    const before = doc([network()]);
    const after = doc([
      network({
        peers: [network().peers[0]!, { nodeId: "node_c", underlay: "10.251.0.13", nodeIp: "10.10.1.4", vtepMac: "02:aa:00:00:00:03" }],
        routes: [{ ip: "10.10.1.13", nodeId: "node_c" }],
      }),
    ]);
    const steps = summary(planNetwork(after, before, converged(before), host));
    expect(steps).toEqual([
      "bridge fdb append 02:aa:00:00:00:03 dev shv-1000 dst 10.251.0.13 self permanent",
      "bridge fdb del 02:aa:00:00:00:02 dev shv-1000 dst 10.251.0.12 self",
      "ip neigh replace 10.10.1.4 lladdr 02:aa:00:00:00:03 dev shv-1000 nud permanent",
      "ip neigh del 10.10.1.3 dev shv-1000",
      "ip route replace 10.10.1.13/32 via 10.10.1.4 dev shv-1000 onlink",
      "ip route replace 10.10.1.4/32 dev shv-1000",
      "ip route del 10.10.1.3 dev shv-1000",
      "ip route del 10.10.1.12 dev shv-1000",
      "nft (table replaced)",
    ]);
  });

  it("re-creates a VXLAN device whose settings changed, and the Docker network whose gateway did", () => {
    const d = doc([network()]);
    const o = converged(d);
    o.links.get("shv-1000")!.vxlan!.local = "10.251.0.99";
    o.dockerNetworks[0]!.gateway = "10.10.1.99";
    expect(summary(planNetwork(d, d, o, host)).slice(0, 6)).toEqual([
      "ip link del shv-1000",
      "ip link add shv-1000 address 02:aa:00:00:00:01 mtu 1350 type vxlan id 4096 dstport 4789 local 10.251.0.11 dev eth0 nolearning",
      "ip addr add 10.10.1.2/32 dev shv-1000",
      "ip link set shv-1000 up",
      "docker remove shoal-net_1",
      "docker create shoal-net_1 10.10.1.0/24 gw 10.10.1.2 on shb-1000 mtu 1350",
    ]);
  });

  it("removes what a network that left the document had, Docker network first, and nothing it did not make", () => {
    const d = doc([network()]);
    const o = converged(d);
    const steps = planNetwork(doc([]), d, o, host);
    expect(summary(steps)).toEqual([
      "iptables -D DOCKER-USER -i shv-1000 -m comment --comment shoal -j ACCEPT",
      "iptables -D DOCKER-USER -o shv-1000 -m comment --comment shoal -j ACCEPT",
      "iptables -D DOCKER-USER -o shb-1000 -m conntrack --ctstate DNAT -m comment --comment shoal -j ACCEPT",
      "nft (table replaced)",
      "docker remove shoal-net_1",
      "ip link del shv-1000",
      "ip link del shb-1000",
    ]);
    // The Docker network and the links share one group: a network still in use (Docker refuses) keeps its devices.
    expect(new Set(steps.filter((s) => s.kind === "docker-remove" || s.kind === "ip").map((s) => s.group)).size).toBe(1);
    expect(steps.find((s) => s.kind === "nft")).toMatchObject({ text: "delete table ip shoal\n" });
  });

  it("refuses an encrypted network rather than leave it unencrypted, and says why", () => {
    const steps = planNetwork(doc([network({ encrypted: true })]), undefined, empty(), host);
    expect(summary(steps)).toEqual([
      "issue network front is encrypted and this host has no WireGuard (neither the kernel's nor wireguard-go, with wireguard-tools' wg): not set up rather than left unencrypted",
    ]);
    const noAddr = planNetwork(doc([network({ encrypted: true })]), undefined, empty(), { ...host, wireguard: wgHost });
    expect(summary(noAddr)).toEqual(["issue network front is encrypted and the control plane gave this host no WireGuard address: not set up rather than left unencrypted"]);
  });

  describe("encrypted networks: VXLAN over one WireGuard device", () => {
    const wgDoc = doc([encryptedNetwork()], { wg: { addr: "198.18.0.7", port: 51820 } });
    const name = wireguardName("node_a");

    it("makes the device (wireguard-go without the kernel's), keys it, peers it, and runs the network's VXLAN between tunnel addresses", () => {
      const lines = summary(planNetwork(wgDoc, undefined, empty(), { ...host, wireguard: wgHost }));
      const device = lines.findIndex((l) => l.startsWith("wg-device"));
      // After the host sysctls, before the network's own devices.
      expect(lines.slice(device, device + 7)).toEqual([
        `wg-device ${name} (wireguard-go)`,
        `wg set ${name} listen-port 51820 private-key /state/wireguard.key`,
        `wg set ${name} peer ${peerKey} endpoint 10.251.0.12:51820 allowed-ips 198.18.0.9/32`,
        `ip addr add 198.18.0.7/15 dev ${name}`,
        `ip link set ${name} mtu 1400`,
        `ip link set ${name} up`,
        "ip link add shb-1000 address " + bridgeMac("02:aa:00:00:00:01") + " type bridge",
      ]);
      expect(lines).toContain(`ip link add shv-1000 address 02:aa:00:00:00:01 mtu 1350 type vxlan id 4096 dstport 4789 local 198.18.0.7 dev ${name} nolearning`);
      expect(lines).toContain("bridge fdb append 02:aa:00:00:00:02 dev shv-1000 dst 198.18.0.9 self permanent");
      expect(lines.some((l) => l.includes("dst 10.251.0.12"))).toBe(false);
    });

    it("the kernel's WireGuard when it has it; converged: nothing to do; the network gone: the device goes last", () => {
      expect(summary(planNetwork(wgDoc, undefined, empty(), { ...host, wireguard: { ...wgHost, kind: "kernel" } }))).toContain(`wg-device ${name}`);
      const o = converged(wgDoc);
      o.links.get("shv-1000")!.vxlan = { id: 4096, local: "198.18.0.7", dev: name, port: 4789, learning: false };
      o.fdb = [{ dev: "shv-1000", mac: "02:aa:00:00:00:02", dst: "198.18.0.9" }];
      const link = { name, kind: "tun", mac: "", mtu: 1400, up: true, addrs: ["198.18.0.7/15"] };
      o.wireguard = [{ link, publicKey: wgHost.publicKey, listenPort: 51820, peers: [{ publicKey: peerKey, endpoint: "10.251.0.12:51820", allowedIps: ["198.18.0.9/32"] }] }];
      expect(summary(planNetwork(wgDoc, undefined, o, { ...host, wireguard: wgHost }))).toEqual([]);
      const gone = summary(planNetwork(doc([]), undefined, o, { ...host, wireguard: wgHost }));
      expect(gone.at(-1)).toBe(`ip link del ${name}`);
      expect(gone.indexOf("ip link del shv-1000")).toBeLessThan(gone.length - 1);
    });

    it("a peer without a tunnel end is left out and said, never reached over the underlay", () => {
      const n = encryptedNetwork();
      const bare = { ...n, peers: n.peers.map((p) => ({ nodeId: p.nodeId, underlay: p.underlay, nodeIp: p.nodeIp, vtepMac: p.vtepMac })) };
      const lines = summary(planNetwork(doc([bare], { wg: { addr: "198.18.0.7", port: 51820 } }), undefined, empty(), { ...host, wireguard: wgHost }));
      expect(lines.filter((l) => l.includes("fdb append") || l.includes(" peer "))).toEqual([]);
      expect(lines).toContain("issue network front is encrypted and node node_b has no WireGuard: its tasks are not reached");
    });

    it("the ruleset drops VXLAN for a tunnel address that would leave by another device, and takes VXLAN from peers' tunnel addresses", () => {
      const { text } = renderRuleset(wgDoc);
      expect(text).toContain('ip daddr 198.18.0.0/15 udp dport 4789 oifname != "shw-*" drop');
      expect(text).toContain("udp dport 4789 ip saddr != { 10.251.0.11, 10.251.0.12, 198.18.0.9 } drop");
      expect(renderRuleset(doc([network()])).text).not.toContain("198.18.0.0/15");
    });

    it("reads wg show dump without keeping the private key", () => {
      const link = { name, kind: "tun", mac: "", mtu: 1400, up: true, addrs: [] };
      const dump = `cHJpdmF0ZS1rZXktbmV2ZXIta2VwdC1hbnl3aGVyZTA9\t${wgHost.publicKey}\t51820\toff\n${peerKey}\t(none)\t10.251.0.12:51820\t198.18.0.9/32\t0\t0\t0\toff\n`;
      const read = parseWireguardDump(link, dump);
      expect(read).toEqual({ link, publicKey: wgHost.publicKey, listenPort: 51820, peers: [{ publicKey: peerKey, endpoint: "10.251.0.12:51820", allowedIps: ["198.18.0.9/32"] }] });
      expect(JSON.stringify(read)).not.toContain("cHJpdmF0ZS1");
    });
  });

  it("says so when no interface holds the underlay address", () => {
    expect(summary(planNetwork(doc([network()]), undefined, { ...empty(), underlayDevice: undefined }, host))).toEqual([
      "issue no interface holds the underlay address 10.251.0.11; overlays not set up",
    ]);
  });

  it("deletes UDP conntrack flows of endpoints, VIPs and mesh targets that went away", () => {
    const udp = network({ services: [{ ...network().services[0]!, ports: [{ protocol: "udp", targetPort: 53 }] }] });
    const mesh = (targets: string[]) => [{ protocol: "udp" as const, publishedPort: 5353, targetPort: 53, serviceId: "svc_web", targets }];
    const before = doc([udp], { mesh: mesh(["10.0.0.5", "10.0.0.6"]) });
    const after = doc([{ ...udp, services: [{ ...udp.services[0]!, endpoints: udp.services[0]!.endpoints.slice(1) }] }], { mesh: mesh(["10.0.0.6"]) });
    const steps = planNetwork(after, before, converged(before), host).filter((s) => s.kind === "conntrack");
    expect(summary(steps)).toEqual([
      "conntrack -D -p udp --orig-dst 10.10.1.250 --reply-src 10.10.1.11",
      "conntrack -D -p udp --orig-port-dst 5353 --reply-src 10.0.0.5",
    ]);
  });
});

describe("renderRuleset (table ip shoal)", () => {
  const ingress = network({ id: "net_ing", name: "ingress", ingress: true, vni: 4097, subnet: "10.0.0.0/24", nodeIp: "10.0.0.2", services: [] });
  const d = doc([network(), ingress], { mesh: [{ protocol: "tcp", publishedPort: 8000, targetPort: 80, serviceId: "svc_web", targets: ["10.0.0.12", "10.0.0.11"] }] });
  const { text, hash } = renderRuleset(d);

  it("balances each VIP over its endpoints from its own network only, and SNATs to the node IP", () => {
    expect(text).toContain('iifname "shb-1000" ip daddr vmap { 10.10.1.250 : jump svc_1000_svc_web }');
    expect(text).toContain("dnat to numgen random mod 2 map { 0 : 10.10.1.11, 1 : 10.10.1.12 }");
    expect(text).toContain('meta mark & 0x4000 == 0x4000 oifname { "shb-1000", "shv-1000" } snat to 10.10.1.2');
  });

  it("publishes mesh ports on every local address (not loopback) with SNAT to the ingress node IP", () => {
    const match = "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto tcp th dport 8000 jump mesh_tcp_8000";
    expect(text.split("\n").filter((l) => l === match)).toHaveLength(2);
    expect(text).toContain("meta l4proto tcp dnat to numgen random mod 2 map { 0 : 10.0.0.11 . 80, 1 : 10.0.0.12 . 80 }");
    expect(text).toContain('meta mark & 0x4000 == 0x4000 oifname { "shb-1001", "shv-1001" } snat to 10.0.0.2');
  });

  it("isolates networks, masquerades egress unless internal, takes VXLAN only from peers", () => {
    expect(text).toContain('iifname "shb-1000" oifname { "shb-1000", "shv-1000" } accept');
    expect(text).toContain('iifname "shb-*" oifname "shv-*" drop');
    expect(text).toContain('ip saddr 10.10.1.0/24 ip daddr != 10.10.1.0/24 oifname != "shb-*" oifname != "shv-*" masquerade');
    expect(renderRuleset(doc([network({ internal: true })])).text).not.toContain("masquerade");
    expect(text).toContain("udp dport 4789 ip saddr != { 10.251.0.11, 10.251.0.12 } drop");
    expect(text).toContain("udp dport 4789 notrack");
  });

  it("rejects a VIP with no endpoint; replaces the table atomically; the hash follows the rules", () => {
    const none = renderRuleset(doc([network({ services: [{ ...network().services[0]!, endpoints: [] }] })]));
    expect(none.text).toContain('iifname "shb-1000" ip daddr 10.10.1.250 reject');
    expect(text.startsWith("table ip shoal\ndelete table ip shoal\ntable ip shoal {\n")).toBe(true);
    expect(text).toContain(`comment "${hash}"`);
    expect(renderRuleset(d).hash).toBe(hash);
    expect(none.hash).not.toBe(hash);
  });
});

describe("kernel readers", () => {
  it("read iproute2's, bridge's, nft's and iptables' output as printed on these machines", () => {
    const links = JSON.stringify([
      { ifname: "eth0", mtu: 1400, address: "aa:bb:cc:dd:ee:ff", flags: ["UP"] },
      { ifname: "shv-1000", mtu: 1450, address: "02:aa:00:00:00:01", flags: ["BROADCAST", "UP", "LOWER_UP"], linkinfo: { info_kind: "vxlan", info_data: { id: 4096, local: "10.9.0.1", link: "eth0", port: 4789, learning: false } } },
      { ifname: "shb-1000", mtu: 1500, address: "02:11:22:33:44:55", flags: ["NO-CARRIER", "BROADCAST", "UP"], linkinfo: { info_kind: "bridge" } },
      { ifname: "shb-other", mtu: 1500, address: "02:11:22:33:44:56", flags: [] },
    ]);
    const addrs = JSON.stringify([
      { ifname: "eth0", addr_info: [{ family: "inet", local: "10.9.0.1", prefixlen: 24 }] },
      { ifname: "shv-1000", addr_info: [{ family: "inet", local: "10.0.0.2", prefixlen: 32 }, { family: "inet6", local: "fe80::1", prefixlen: 64 }] },
    ]);
    const { links: l, underlayDevice } = parseLinks(links, addrs, "10.9.0.1");
    expect(underlayDevice).toBe("eth0");
    expect([...l.keys()]).toEqual(["shv-1000", "shb-1000"]);
    expect(l.get("shv-1000")).toEqual({ name: "shv-1000", kind: "vxlan", mac: "02:aa:00:00:00:01", mtu: 1450, up: true, vxlan: { id: 4096, local: "10.9.0.1", dev: "eth0", port: 4789, learning: false }, addrs: ["10.0.0.2/32"] });
    expect(parseNeighbours('[{"dst":"10.0.0.3","dev":"shv-1000","lladdr":"02:aa:00:00:00:02","state":["PERMANENT"]},{"dst":"10.9.0.9","dev":"eth0","lladdr":"02:00:00:00:00:01"}]')).toEqual([
      { dev: "shv-1000", ip: "10.0.0.3", mac: "02:aa:00:00:00:02" },
    ]);
    expect(parseFdb('[{"mac":"02:aa:00:00:00:02","ifname":"shv-1000","dst":"10.9.0.2","flags":["self"],"state":"permanent"},{"mac":"33:33:00:00:00:01","ifname":"eth0","flags":["self"]}]')).toEqual([
      { dev: "shv-1000", mac: "02:aa:00:00:00:02", dst: "10.9.0.2" },
    ]);
    expect(parseRoutes('[{"dst":"10.0.0.3","dev":"shv-1000","scope":"link","flags":[]},{"dst":"10.0.0.13","gateway":"10.0.0.3","dev":"shv-1000","flags":["onlink"]},{"dst":"10.9.0.0/24","dev":"eth0"}]')).toEqual([
      { dev: "shv-1000", dst: "10.0.0.3" },
      { dev: "shv-1000", dst: "10.0.0.13", via: "10.0.0.3" },
    ]);
    expect(parseBridgePorts('[{"ifindex":673,"link":"tv1","ifname":"veth1a","mtu":1500,"master":"shb-1000","state":"forwarding","hairpin":false},{"ifname":"veth9","master":"docker0","hairpin":false}]')).toEqual([
      { dev: "veth1a", master: "shb-1000", hairpin: false },
    ]);
    expect(parseNftHash('table ip shoal {\n\tcomment "abc123"\n\tchain prerouting {')).toBe("abc123");
    expect(parseNftHash("")).toBeUndefined();
    expect(parseDockerUser("-N DOCKER-USER\n-A DOCKER-USER -i shv-1000 -m comment --comment shoal -j ACCEPT\n-A DOCKER-USER -j RETURN\n")).toEqual(["-i shv-1000 -m comment --comment shoal -j ACCEPT"]);
  });
});
