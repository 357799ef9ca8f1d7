import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandRunner } from "../../agent/src/network/runner.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, type E2EHost } from "./hosts.js";

/**
 * Networks end to end: the control plane allocates and hands out the plan,
 * real agents in 3 namespaced hosts build the data path, and containers of
 * services find and reach each other by name across hosts, through a VIP and
 * through the routing mesh, as the Swarm tutorial's commands do. `web` (5
 * replicas) runs on h1 and h2, `client` (same network) and `other` (another
 * network) on h3.
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
    expect((await service("web", "appnet", `node.hostname!=${h(2).name}`, { replicas: 5, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } })).status).toBe(201);
    expect((await service("client", "appnet", `node.hostname==${h(2).name}`)).status).toBe(201);
    expect((await service("other", "othernet", `node.hostname==${h(2).name}`)).status).toBe(201);
    await c.waitFor("web, client and other running", async () => (await running("web")).length === 5 && (await running("client")).length === 1 && (await running("other")).length === 1, 120_000);
    const appnet = (await c.api("GET", "/v1/networks/appnet")).body as any;
    const web = (await c.api("GET", "/v1/services/web")).body as any;
    vip = web.endpoint.virtualIps.find((v: any) => v.networkId === appnet.id).addr.split("/")[0];
  }, 360_000);
  afterAll(() => c?.stop(), 120_000);

  it("resolves the service name to its VIP and tasks.<name> to every running task, across hosts", async () => {
    let last = "";
    const byName = await c
      .waitFor("web resolves to its VIP", async () => {
        last = await lookup(h(2), "client", "web");
        return addresses(last).includes(vip) && last;
      })
      .catch((err) => {
        throw new Error(`${err.message}\nnslookup said: ${last}\nagent on ${h(2).name}:\n${c.agents.get(h(2).name)!.output().slice(-3000)}`);
      });
    expect(addresses(byName)).toEqual([vip]);
    const tasks = await c.waitFor("tasks.web lists 5 addresses", async () => {
      const ips = addresses(await lookup(h(2), "client", "tasks.web"));
      return ips.length === 5 && ips;
    });
    const appnet = (await c.api("GET", "/v1/networks/appnet")).body as any;
    const prefix = appnet.subnet.split(".").slice(0, 3).join(".");
    expect(tasks.every((ip) => ip.startsWith(`${prefix}.`))).toBe(true);
    expect(new Set([...tasks, vip]).size).toBe(6);
  }, 120_000);

  it("balances connections to the VIP over the tasks on both hosts", async () => {
    const answers = (await requests(h(2), "client", "http://web/", 50)).trim().split("\n");
    expect(answers.filter((a) => a.includes("FAILED"))).toEqual([]);
    // Random choice over 5 tasks: 50 requests reaching fewer than 5 has odds of about 1 in 14,000.
    expect(new Set(answers).size).toBeGreaterThanOrEqual(3);
    const hosts = await Promise.all([0, 1].map(async (i) => (await shoalContainers(h(i))).filter((x) => x.name.startsWith("web.")).map((x) => x.id.slice(0, 12))));
    for (const onHost of hosts) expect(onHost.some((id) => answers.includes(id))).toBe(true);
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

  it("a killed task gets no new connections within a heartbeat period, and its replacement gets them once it runs", async () => {
    const heartbeatMs = ((await c.api("GET", "/v1/swarm")).body as any).status.heartbeatPeriodMs as number;
    const victim = (await shoalContainers(h(0))).find((x) => x.name.startsWith("web."))!;
    const victimHost = victim.id.slice(0, 12);
    const log: { at: number; answer: string }[] = [];
    let killedAt = 0;
    const loop = (async () => {
      const until = Date.now() + 12_000;
      while (Date.now() < until) {
        const at = Date.now();
        log.push({ at, answer: (await exec(h(2), "client", "timeout 1 wget -q -O- http://web/ 2>/dev/null || echo FAILED")).trim() });
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    killedAt = Date.now();
    await h(0).docker(["kill", victim.id]);
    await loop;
    const bad = log.filter((l) => l.at > killedAt && (l.answer === victimHost || l.answer === "FAILED"));
    const lastBadMs = bad.length ? bad[bad.length - 1]!.at - killedAt : 0;
    expect(log.filter((l) => l.at > killedAt).length).toBeGreaterThan(5);
    expect(lastBadMs).toBeLessThan(heartbeatMs);
    const replaced = await c.waitFor("5 running web tasks again", async () => {
      const ips = addresses(await lookup(h(2), "client", "tasks.web"));
      return (await running("web")).length === 5 && ips.length === 5 && ips;
    }, 90_000);
    const answers = (await requests(h(2), "client", "http://web/", 50)).trim().split("\n");
    expect(answers.filter((a) => a.includes("FAILED"))).toEqual([]);
    expect(answers).not.toContain(victimHost);
    expect(replaced).toHaveLength(5);
  }, 180_000);

  it("--endpoint-mode dnsrr: no VIP; the name resolves to the running tasks' addresses, and connections reach them", async () => {
    const created = await c.api("POST", "/v1/services", {
      name: "rr",
      replicas: 2,
      endpoint: { mode: "dnsrr" },
      task: { container: { image: TEST_IMAGE, command: serve, stopGracePeriodMs: 0 }, networks: [{ target: "appnet", aliases: [] }], placement: { constraints: [`node.hostname!=${h(2).name}`], maxReplicasPerNode: 1 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await c.waitFor("rr running", async () => (await running("rr")).length === 2, 120_000);
    expect(((await c.api("GET", "/v1/services/rr")).body as any).endpoint.virtualIps ?? []).toEqual([]);
    const ips = await c.waitFor("rr resolves to its 2 tasks", async () => {
      const found = addresses(await lookup(h(2), "client", "rr"));
      return found.length === 2 && found;
    });
    const tasks = addresses(await lookup(h(2), "client", "tasks.rr"));
    expect(new Set(ips)).toEqual(new Set(tasks));
    const answers = new Set((await requests(h(2), "client", "http://rr/", 10)).trim().split("\n"));
    expect(answers.has("FAILED")).toBe(false);
    expect((await c.api("DELETE", "/v1/services/rr")).status).toBeLessThan(300);
    await c.waitFor("rr gone from DNS", async () => addresses(await lookup(h(2), "client", "rr")).length === 0);
  }, 180_000);

  it("a stack's services reach each other by their compose names across hosts", async () => {
    const compose = `
services:
  api:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "mkdir -p /www && echo from-api > /www/index.html && exec httpd -f -p 80 -h /www"]
    deploy: { placement: { constraints: ["node.hostname==${h(0).name}"] } }
  web:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    deploy: { placement: { constraints: ["node.hostname==${h(2).name}"] } }
`;
    expect((await c.api("PUT", "/v1/stacks/shop", { files: [compose] })).status).toBeLessThan(300);
    await c.waitFor("shop running", async () => (await running("shop_api")).length === 1 && (await running("shop_web")).length === 1, 120_000);
    const answer = await c.waitFor("web fetches from api by its short name", async () => {
      const out = (await exec(h(2), "shop_web", "timeout 5 wget -q -O- http://api/ 2>&1 || echo FAILED")).trim();
      return out === "from-api" && out;
    }, 30_000);
    expect(answer).toBe("from-api");
    expect((await c.api("DELETE", "/v1/stacks/shop")).status).toBeLessThan(300);
    await c.waitFor("shop gone", async () => (await Promise.all(c.hosts.hosts.map((x) => shoalContainers(x, true)))).every((l) => !l.some((x) => x.name.startsWith("shop_"))), 60_000);
  }, 180_000);

  it("a whole host killed: the VIP and the mesh keep answering from the survivors", async () => {
    await Promise.all([c.agents.get(h(0).name)!.kill("SIGKILL"), h(0).killEngine()]);
    const check = async () => {
      const vipAnswers = (await requests(h(2), "client", "http://web/", 10)).trim().split("\n");
      const mesh = (await inNs(h(2), `for i in $(seq 10); do timeout 3 wget -q -O- http://${h(2).ip}:8080/ 2>&1 || echo FAILED; done`)).trim().split("\n");
      return [...vipAnswers, ...mesh].every((a) => !a.includes("FAILED")) && { vipAnswers, mesh };
    };
    const survived = await c.waitFor("VIP and mesh answer without h1", check, 90_000);
    const survivors = (await shoalContainers(h(1))).filter((x) => x.name.startsWith("web.")).map((x) => x.id.slice(0, 12));
    expect([...survived.vipAnswers, ...survived.mesh].every((a) => survivors.includes(a))).toBe(true);
  }, 180_000);

  it("removing the services and networks leaves no device, rule or Docker network on the hosts", async () => {
    for (const name of ["web", "client", "other"]) await c.api("DELETE", `/v1/services/${name}`);
    for (const name of ["appnet", "othernet"]) {
      const res = await c.waitFor(`${name} removed`, async () => {
        const r = await c.api("DELETE", `/v1/networks/${name}`);
        return r.status === 204 && r;
      }, 30_000);
      expect(res.status).toBe(204);
    }
    for (const host of [h(1), h(2)])
      await c.waitFor(`${host.name} clean`, async () => {
        const links = await inNs(host, "ip -o link show");
        const table = await inNs(host, "nft list table ip shoal 2>&1 || true");
        const networks = await host.docker(["network", "ls", "--filter", "label=io.shoal.network.id", "-q"]);
        return !/sh[bv]-/.test(links) && /No such file|does not exist|Error/.test(table) && networks === "" && (await shoalContainers(host, true)).length === 0;
      }, 60_000);
  }, 150_000);
});
