import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkDocument, OverlayNetwork } from "../../src/protocol/agent-v1.js";
import { DockerClient } from "../../agent/src/docker/client.js";
import { NetworkReconciler } from "../../agent/src/network/reconciler.js";
import { commandRunner } from "../../agent/src/network/runner.js";
import { buildTestImage, ensureDockerInstalled, startCluster, TEST_IMAGE, type E2ECluster, type E2EHost } from "./hosts.js";

/**
 * The agent's overlay data path on 3 namespaced hosts with real engines: each
 * host's network reconciler (acting in the host's namespace) is handed the
 * network documents the control plane would send, and containers on the
 * resulting Docker networks talk across hosts, through VIPs and the mesh.
 * h1 and h2 run `web` (net A + ingress), h3 runs a client on A and one on B.
 */
describe("overlay data path (network reconciler on real hosts)", () => {
  let cluster: E2ECluster;
  const reconcilers = new Map<string, NetworkReconciler>();
  const logs = new Map<string, string[]>();
  const h = (i: number): E2EHost => cluster.hosts[i]!;
  const webIp = (i: number) => `10.60.1.${11 + i}`;
  const ingressIp = (i: number) => `10.60.0.${11 + i}`;
  const vip = "10.60.1.250";

  function net(host: number, n: { id: string; vni: number; subnet: string; members: number[]; ingress?: boolean; services?: OverlayNetwork["services"]; routes: { ip: string; on: number }[] }): OverlayNetwork {
    const base = n.subnet.replace(/\.0\/24$/, "");
    const nodeIp = (i: number) => `${base}.${2 + i}`;
    const mac = (i: number) => `02:5a:00:${(n.vni & 0xff).toString(16).padStart(2, "0")}:00:0${i + 1}`;
    return {
      id: n.id,
      name: n.id,
      vni: n.vni,
      subnet: n.subnet,
      mtu: 1400,
      encrypted: false,
      internal: false,
      ingress: n.ingress ?? false,
      nodeIp: nodeIp(host),
      vtepMac: mac(host),
      peers: n.members.map((i) => ({ nodeId: h(i).name, underlay: h(i).ip, nodeIp: nodeIp(i), vtepMac: mac(i) })),
      routes: n.routes.map((r) => ({ ip: r.ip, nodeId: h(r.on).name })),
      services: n.services ?? [],
    };
  }

  /** The document each host gets: web on h1, h2 (endpoints `web`), clients on h3. */
  function documentFor(host: number, web: number[], token: string): NetworkDocument {
    const endpoints = web.map((i) => ({ taskId: `task_w${i}`, nodeId: h(i).name, ip: webIp(i), dnsName: `web.${i + 1}.task_w${i}` }));
    const a = net(host, {
      id: "net_a",
      vni: 0x1000,
      subnet: "10.60.1.0/24",
      members: [0, 1, 2],
      routes: [...[0, 1].map((i) => ({ ip: webIp(i), on: i })), { ip: "10.60.1.13", on: 2 }],
      services: [{ id: "svc_web", name: "web", aliases: [], endpointMode: "vip", vip, ports: [{ protocol: "tcp", targetPort: 80 }], endpoints }],
    });
    const b = net(host, { id: "net_b", vni: 0x1001, subnet: "10.60.2.0/24", members: [2], routes: [] });
    const ingress = net(host, { id: "net_ing", vni: 0x1002, subnet: "10.60.0.0/24", members: [0, 1, 2], ingress: true, routes: [0, 1].map((i) => ({ ip: ingressIp(i), on: i })) });
    return {
      token,
      networks: host === 2 ? [a, b, ingress] : [a, ingress],
      mesh: [{ protocol: "tcp", publishedPort: 8000, targetPort: 80, serviceId: "svc_web", targets: web.map(ingressIp) }],
    };
  }

  async function apply(docs: (i: number) => NetworkDocument): Promise<void> {
    await Promise.all(
      cluster.hosts.map(async (host, i) => {
        const r = reconcilers.get(host.name)!;
        await r.setDocument(docs(i));
        await r.idle();
        expect(r.issues()).toEqual([]);
      }),
    );
  }

  function reconcilerFor(host: E2EHost): NetworkReconciler {
    const lines: string[] = [];
    logs.set(host.name, lines);
    const log = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
    return new NetworkReconciler({
      runner: commandRunner(["nsenter", `--net=/var/run/netns/${host.netns}`]),
      docker: new DockerClient({ socketPath: host.dockerSocket }),
      log: { info: log("info"), warn: log("warn"), error: log("error") },
      nodeId: host.name,
      underlay: host.ip,
    });
  }

  const inNs = (host: E2EHost, cmd: string[]) => commandRunner(["nsenter", `--net=/var/run/netns/${host.netns}`]).run(cmd[0]!, cmd.slice(1));
  const get = (host: E2EHost, container: string, url: string, times = 1) =>
    host.docker(["exec", container, "sh", "-c", `for i in $(seq ${times}); do timeout 5 wget -q -O- ${url} 2>&1 || echo FAILED; done`]);
  const serve = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"];

  beforeAll(async () => {
    await ensureDockerInstalled();
    cluster = await startCluster({ hosts: 3, prefix: "netdp" });
    await buildTestImage(cluster);
    for (const host of cluster.hosts) reconcilers.set(host.name, reconcilerFor(host));
    await apply((i) => documentFor(i, [0, 1], "t1"));
    for (const i of [0, 1]) {
      await h(i).docker(["run", "-d", "--name", "web", "--hostname", `web-on-${h(i).name}`, "--network", "shoal-net_a", "--ip", webIp(i), TEST_IMAGE, ...serve]);
      await h(i).docker(["network", "connect", "--ip", ingressIp(i), "shoal-net_ing", "web"]);
    }
    await h(2).docker(["run", "-d", "--name", "client", "--network", "shoal-net_a", "--ip", "10.60.1.13", TEST_IMAGE, "sleep", "3600"]);
    await h(2).docker(["run", "-d", "--name", "other", "--network", "shoal-net_b", "--ip", "10.60.2.13", TEST_IMAGE, "sleep", "3600"]);
    // As the agent does on a container start: the new bridge ports get hairpin mode.
    for (const r of reconcilers.values()) r.nudge();
    for (const r of reconcilers.values()) await r.idle();
  }, 240_000);
  afterAll(() => cluster?.stop(), 60_000);

  it("connects containers of one network across hosts, at the network's MTU", async () => {
    for (const i of [0, 1]) expect((await get(h(2), "client", `http://${webIp(i)}/`)).trim()).toBe(`web-on-${h(i).name}`);
    expect((await h(2).docker(["exec", "client", "cat", "/sys/class/net/eth0/mtu"])).trim()).toBe("1400");
    // A 1 MB answer crosses without an MTU black hole.
    await h(0).docker(["exec", "web", "sh", "-c", "dd if=/dev/zero of=/www/big bs=1024 count=1024 2>/dev/null"]);
    expect((await h(2).docker(["exec", "client", "sh", "-c", `timeout 10 wget -q -O- http://${webIp(0)}/big | wc -c`])).trim()).toBe("1048576");
  });

  it("balances connections to a VIP over the tasks on every host", async () => {
    const answers = (await get(h(2), "client", `http://${vip}/`, 30)).trim().split("\n");
    expect(answers).not.toContain("FAILED");
    expect(new Set(answers)).toEqual(new Set([`web-on-${h(0).name}`, `web-on-${h(1).name}`]));
    // A task reaching its own service's VIP gets every backend, itself included (hairpin), SNATed to the node IP.
    const fromWeb = (await get(h(0), "web", `http://${vip}/`, 20)).trim().split("\n");
    expect(fromWeb).not.toContain("FAILED");
    expect(new Set(fromWeb)).toEqual(new Set([`web-on-${h(0).name}`, `web-on-${h(1).name}`]));
  });

  it("answers a published port on a host that runs no task (the routing mesh), from its namespace and from outside", async () => {
    const viaMesh = await inNs(h(2), ["sh", "-c", `for i in $(seq 10); do timeout 3 wget -q -O- http://${h(2).ip}:8000/ || echo FAILED; done`]);
    expect(viaMesh).not.toContain("FAILED");
    expect(new Set(viaMesh.trim().split("\n")).size).toBe(2);
    const res = await fetch(`http://${h(2).ip}:8000/`, { signal: AbortSignal.timeout(5000) });
    expect((await res.text()).trim()).toMatch(/^web-on-/);
  });

  it("isolates networks: a container on another overlay reaches neither the tasks nor the VIP", async () => {
    for (const target of [webIp(0), webIp(1), vip])
      expect((await h(2).docker(["exec", "other", "sh", "-c", `nc -w 2 ${target} 80 </dev/null && echo REACHED || echo BLOCKED`])).trim()).toBe("BLOCKED");
  });

  it("follows the document: an endpoint removed gets no new connections", async () => {
    await apply((i) => documentFor(i, [0], "t2"));
    const answers = (await get(h(2), "client", `http://${vip}/`, 10)).trim().split("\n");
    expect(new Set(answers)).toEqual(new Set([`web-on-${h(0).name}`]));
  });

  it("is idempotent: a restarted agent's first round changes nothing", async () => {
    for (const host of cluster.hosts) {
      const fresh = reconcilerFor(host);
      await fresh.setDocument(documentFor(cluster.hosts.indexOf(host), [0], "t2"));
      await fresh.idle();
      expect(fresh.issues()).toEqual([]);
      expect(logs.get(host.name)!.filter((l) => l.includes("network reconciled"))).toEqual([]);
      reconcilers.set(host.name, fresh);
    }
    expect((await get(h(2), "client", `http://${vip}/`)).trim()).toBe(`web-on-${h(0).name}`);
  });

  it("removes everything it made once the networks leave the document, and nothing else", async () => {
    for (const i of [0, 1]) await h(i).docker(["rm", "-f", "web"]);
    await h(2).docker(["rm", "-f", "client", "other"]);
    await apply(() => ({ token: "t3", networks: [], mesh: [] }));
    for (const host of cluster.hosts) {
      const links = await inNs(host, ["ip", "-o", "link", "show"]);
      expect(links).not.toMatch(/sh[bv]-/);
      expect(links).toMatch(/docker0/);
      await expect(inNs(host, ["nft", "list", "table", "ip", "shoal"])).rejects.toThrow();
      expect(await inNs(host, ["iptables", "-S", "DOCKER-USER"])).not.toContain("shoal");
      expect(await host.docker(["network", "ls", "--filter", "label=io.shoal.network.id", "-q"])).toBe("");
    }
  });
});
