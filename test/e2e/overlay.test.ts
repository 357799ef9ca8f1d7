import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRunner } from "../../agent/src/network/runner.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, type E2EHost } from "./hosts.js";

/**
 * Networks end to end: the control plane allocates and hands out the plan,
 * real agents in 3 namespaced hosts build the data path, and containers of
 * services find and reach each other by name across hosts, through a VIP and
 * through the routing mesh. `web` runs on h1 and h2, `client` (same network)
 * and `other` (another network) on h3.
 */
describe("overlay networks (control plane + agents on real hosts)", () => {
  let c: ShoalCluster;
  const h = (i: number): E2EHost => c.hosts.hosts[i]!;
  const serve = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"];
  const inNs = (host: E2EHost, cmd: string) => commandRunner(["nsenter", `--net=/var/run/netns/${host.netns}`]).run("sh", ["-c", cmd]);
  /** Runs a shell command in the one container of `service` on `host`. */
  const exec = async (host: E2EHost, service: string, cmd: string) => {
    const container = (await shoalContainers(host)).find((x) => x.name.startsWith(`${service}.`));
    if (!container) throw new Error(`no ${service} container on ${host.name}`);
    return host.docker(["exec", container.id, "sh", "-c", cmd], { timeoutMs: 60_000 });
  };
  const addresses = (nslookup: string) => [...nslookup.matchAll(/Address:?\s+(\d+\.\d+\.\d+\.\d+)(?!:53)\b/g)].map((m) => m[1]!).filter((ip) => ip !== "127.0.0.11");
  const lookup = (host: E2EHost, service: string, name: string) => exec(host, service, `nslookup ${name} 2>&1 || true`);
  const requests = (host: E2EHost, service: string, url: string, times: number) =>
    exec(host, service, `for i in $(seq ${times}); do timeout 5 wget -q -O- ${url} 2>&1 || echo FAILED; done`);
  const running = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running");
  let vip = "";

  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "ovl", agentsInHosts: true });
    for (const name of ["appnet", "othernet"]) expect((await c.api("POST", "/v1/networks", { name })).status).toBe(201);
    const service = (name: string, network: string, constraint: string, extra: object = {}) =>
      c.api("POST", "/v1/services", {
        name,
        task: { container: { image: TEST_IMAGE, command: serve, stopGracePeriodMs: 0 }, networks: [{ target: network, aliases: [] }], placement: { constraints: [constraint] } },
        ...extra,
      });
    expect((await service("web", "appnet", `node.hostname!=${h(2).name}`, { replicas: 3, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } })).status).toBe(201);
    expect((await service("client", "appnet", `node.hostname==${h(2).name}`)).status).toBe(201);
    expect((await service("other", "othernet", `node.hostname==${h(2).name}`)).status).toBe(201);
    await c.waitFor("web, client and other running", async () => (await running("web")).length === 3 && (await running("client")).length === 1 && (await running("other")).length === 1, 120_000);
    const appnet = (await c.api("GET", "/v1/networks/appnet")).body as any;
    const web = (await c.api("GET", "/v1/services/web")).body as any;
    vip = web.endpoint.virtualIps.find((v: any) => v.networkId === appnet.id).addr.split("/")[0];
  }, 360_000);
  afterAll(() => c?.stop(), 120_000);

  it("resolves the service name to its VIP and tasks.<name> to every running task, across hosts", async () => {
    const byName = await c.waitFor("web resolves to its VIP", async () => {
      const out = await lookup(h(2), "client", "web");
      return addresses(out).includes(vip) && out;
    });
    expect(addresses(byName)).toEqual([vip]);
    const tasks = await c.waitFor("tasks.web lists 3 addresses", async () => {
      const ips = addresses(await lookup(h(2), "client", "tasks.web"));
      return ips.length === 3 && ips;
    });
    const appnet = (await c.api("GET", "/v1/networks/appnet")).body as any;
    const prefix = appnet.subnet.split(".").slice(0, 3).join(".");
    expect(tasks.every((ip) => ip.startsWith(`${prefix}.`))).toBe(true);
    expect(new Set([...tasks, vip]).size).toBe(4);
  }, 120_000);

  it("balances connections to the VIP over the tasks on both hosts", async () => {
    const answers = (await requests(h(2), "client", "http://web/", 30)).trim().split("\n");
    expect(answers.filter((a) => a.includes("FAILED"))).toEqual([]);
    // Random choice over 3 tasks: missing one in 30 tries has odds of about 1 in 60,000.
    expect(new Set(answers).size).toBe(3);
  }, 120_000);

  it("answers the published port on every host through the mesh, including the host that runs no web task", async () => {
    for (const host of [h(2), h(0)]) {
      const answers = await c.waitFor(`the mesh on ${host.name}`, async () => {
        const out = (await inNs(host, `for i in $(seq 5); do timeout 5 wget -q -O- http://${host.ip}:8080/ 2>&1 || echo FAILED; done`)).trim().split("\n");
        return out.every((a) => !a.includes("FAILED")) && out;
      });
      expect(answers).toHaveLength(5);
    }
  }, 120_000);

  it("isolates networks: a task on another network neither resolves web nor reaches its addresses", async () => {
    expect(addresses(await lookup(h(2), "other", "web"))).toEqual([]);
    const tasks = addresses(await lookup(h(2), "client", "tasks.web"));
    for (const target of [vip, ...tasks]) expect((await exec(h(2), "other", `nc -w 2 ${target} 80 </dev/null && echo REACHED || echo BLOCKED`)).trim()).toBe("BLOCKED");
    // It still gets out of its network: the control plane, off the overlays, answers.
    expect((await exec(h(2), "other", `timeout 5 wget -q -O- ${c.controlPlane.url}/healthz >/dev/null && echo OK || echo FAILED`)).trim()).toBe("OK");
  }, 120_000);

  it("a killed task leaves the endpoints and its replacement joins them", async () => {
    const victim = (await shoalContainers(h(0))).find((x) => x.name.startsWith("web."))!;
    const before = addresses(await lookup(h(2), "client", "tasks.web"));
    const victimIp = (await h(0).docker(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", victim.id])).trim().split(" ");
    await h(0).docker(["kill", victim.id]);
    const after = await c.waitFor("3 tasks.web again, without the killed one", async () => {
      const ips = addresses(await lookup(h(2), "client", "tasks.web"));
      return ips.length === 3 && ips.every((ip) => !victimIp.includes(ip)) && ips;
    }, 90_000);
    expect(after).not.toEqual(before);
    const answers = (await requests(h(2), "client", "http://web/", 15)).trim().split("\n");
    expect(answers.filter((a) => a.includes("FAILED"))).toEqual([]);
  }, 150_000);
});
