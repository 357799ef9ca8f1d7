import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRunner } from "../../agent/src/network/runner.js";
import { wireguardName } from "../../agent/src/network/names.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, type E2EHost } from "./hosts.js";

/**
 * `--opt encrypted` end to end: 2 namespaced hosts with real agents, which
 * find no kernel WireGuard here and run wireguard-go. `api` on h1 and `web`
 * on h2, on one encrypted network, reach each other by name; a capture on h2's
 * underlay shows only WireGuard's UDP between the hosts, never VXLAN, never
 * the pages' text; removing the network leaves no WireGuard device.
 */
describe("encrypted overlay networks (WireGuard between hosts)", () => {
  let c: ShoalCluster;
  const h = (i: number): E2EHost => c.hosts.hosts[i]!;
  const marker = (name: string) => `plaintext-${name}-4f1c9e`;
  const serve = (name: string) => ["sh", "-c", `mkdir -p /www && echo ${marker(name)} > /www/index.html && exec httpd -f -p 80 -h /www`];
  const inNs = (host: E2EHost, cmd: string) => commandRunner(["nsenter", `--net=/var/run/netns/${host.netns}`]).run("sh", ["-c", cmd]);
  const exec = async (host: E2EHost, service: string, cmd: string) => {
    const container = (await shoalContainers(host)).find((x) => x.name.startsWith(`${service}.`));
    if (!container) throw new Error(`no ${service} container on ${host.name}`);
    return host.docker(["exec", container.id, "sh", "-c", cmd], { timeoutMs: 60_000 });
  };
  const fetchBy = (host: E2EHost, from: string, to: string, times: number) => exec(host, from, `for i in $(seq ${times}); do timeout 5 wget -q -O- http://${to}/ 2>&1 || echo FAILED; done`);
  const running = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running").length;
  const nodeIds = new Map<string, string>();

  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "wg", agentsInHosts: true });
    for (const host of c.hosts.hosts) {
      const node = (await c.api("GET", `/v1/nodes/${host.name}`)).body as any;
      nodeIds.set(host.name, node.id);
    }
    const created = await c.api("POST", "/v1/networks", { name: "secret", options: { encrypted: "" } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const [name, host] of [
      ["api", h(0)],
      ["web", h(1)],
    ] as const) {
      const res = await c.api("POST", "/v1/services", {
        name,
        task: { container: { image: TEST_IMAGE, command: serve(name), stopGracePeriodMs: 0 }, networks: [{ target: "secret", aliases: [] }], placement: { constraints: [`node.hostname==${host.name}`] } },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    await c.waitFor("api and web running", async () => (await running("api")) === 1 && (await running("web")) === 1, 180_000).catch((err) => {
      throw new Error(`${err.message}\nagent on ${h(1).name}:\n${c.agents.get(h(1).name)!.output().slice(-3000)}`);
    });
  }, 420_000);
  afterAll(() => c?.stop(), 120_000);

  it("each host's key is made on the host: its peer gets the public half, the private half stays in its state dir", async () => {
    for (const [self, other] of [
      [h(0), h(1)],
      [h(1), h(0)],
    ] as const) {
      const privateKey = readFileSync(join(c.agentDirs(self).state, "wireguard.key"), "utf8").trim();
      const publicKey = (await commandRunner().run("wg", ["pubkey"], { input: `${privateKey}\n` })).trim();
      const doc = await c.waitFor(`${other.name}'s document has ${self.name}'s key`, async () => {
        const text = readFileSync(join(c.agentDirs(other).state, "network.json"), "utf8");
        return text.includes(publicKey) && text;
      });
      const peer = JSON.parse(doc).networks.find((n: any) => n.name === "secret").peers.find((p: any) => p.nodeId === nodeIds.get(self.name));
      expect(peer.wg).toMatchObject({ publicKey, port: 51820 });
      for (const seen of [doc, c.agents.get(self.name)!.output(), c.agents.get(other.name)!.output()]) expect(seen).not.toContain(privateKey);
    }
  });

  it("services on the encrypted network reach each other by name across hosts, and the underlay carries only WireGuard", async () => {
    const first = await c.waitFor("web fetches api by name", async () => {
      const out = (await fetchBy(h(1), "web", "api", 1)).trim();
      return out === marker("api") && out;
    }, 60_000).catch((err) => {
      throw new Error(`${err.message}\nagent on ${h(1).name}:\n${c.agents.get(h(1).name)!.output().slice(-3000)}`);
    });
    expect(first).toBe(marker("api"));

    const pcap = join(c.hosts.dir, "underlay.pcap");
    rmSync(pcap, { force: true });
    // Every UDP packet on h2's only link to the other host, raw, for the whole exchange.
    const capture = spawn("nsenter", [`--net=/var/run/netns/${h(1).netns}`, "tcpdump", "-i", "eth0", "-n", "-U", "-s", "0", "-w", pcap, "udp"], { stdio: ["ignore", "ignore", "pipe"] });
    let captureErr = "";
    capture.stderr.on("data", (d) => (captureErr += d));
    await c.waitFor("tcpdump listening", async () => captureErr.includes("listening on"), 15_000);
    const toApi = (await fetchBy(h(1), "web", "api", 10)).trim().split("\n");
    const toWeb = (await fetchBy(h(0), "api", "web", 10)).trim().split("\n");
    await new Promise((r) => setTimeout(r, 500));
    const ended = new Promise((r) => capture.once("exit", r));
    capture.kill("SIGINT");
    await ended;
    expect(toApi).toEqual(Array(10).fill(marker("api")));
    expect(toWeb).toEqual(Array(10).fill(marker("web")));

    const packets = (await commandRunner().run("tcpdump", ["-r", pcap, "-n", "-q"])).trim().split("\n").filter(Boolean);
    const between = packets.filter((p) => p.includes(h(0).ip) && p.includes(h(1).ip));
    const wireguard = between.filter((p) => /\.51820[ :]/.test(p));
    expect(wireguard.length).toBeGreaterThan(40);
    expect(between.filter((p) => !/\.51820[ :]/.test(p))).toEqual([]);
    expect(packets.filter((p) => /\.4789[ :]/.test(p))).toEqual([]);
    const raw = readFileSync(pcap);
    for (const name of ["api", "web"]) expect(raw.includes(marker(name))).toBe(false);
    // The device names and addresses the agents built it on.
    const wg = wireguardName(nodeIds.get(h(1).name)!);
    expect(await inNs(h(1), `ip -d link show ${wg}`)).toMatch(/mtu \d+/);
    expect(await inNs(h(1), "ip -d link show | grep -A2 ' shv-' | grep vxlan")).toContain(`dev ${wg}`);
  }, 180_000);

  it("removing the services and the network leaves no WireGuard device or wireguard-go on any host", async () => {
    for (const name of ["api", "web"]) await c.api("DELETE", `/v1/services/${name}`);
    const res = await c.waitFor("secret removed", async () => {
      const r = await c.api("DELETE", "/v1/networks/secret");
      return r.status === 204 && r;
    }, 60_000);
    expect(res.status).toBe(204);
    for (const host of c.hosts.hosts) {
      const wg = wireguardName(nodeIds.get(host.name)!);
      await c.waitFor(`${host.name} has no WireGuard device`, async () => {
        const links = await inNs(host, "ip -o link show");
        const processes = await commandRunner().run("ps", ["-eo", "args"]);
        return !links.includes("shw-") && !/sh[bv]-/.test(links) && !processes.includes(`wireguard-go ${wg}`);
      }, 60_000);
    }
  }, 150_000);
});
