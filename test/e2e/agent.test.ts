import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE } from "./hosts.js";

/**
 * Real agents on three namespaced hosts, each with its own dockerd: what a user
 * would see with `docker ps` on every host.
 */
describe("agents on real Docker engines", () => {
  let c: ShoalCluster;
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "agent" });
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  const web = (replicas: number, extra: Record<string, unknown> = {}) => ({
    name: "web",
    replicas,
    task: {
      container: { image: TEST_IMAGE, command: ["sh", "-c", "echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp"], stopGracePeriodMs: 1000 },
      restartPolicy: { delayMs: 0 },
    },
    ...extra,
  });
  const running = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running");
  const containersEverywhere = async (all = false) => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, all)))).flat();

  it("runs exactly the expected containers, spread over the hosts, with shoal's labels", async () => {
    const created = await c.api("POST", "/v1/services", web(6));
    expect(created.status).toBe(201);
    await c.waitFor("6 running tasks", async () => (await running("web")).length === 6);
    const perHost = await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)));
    expect(perHost.map((list) => list.length)).toEqual([2, 2, 2]);
    const tasks = await running("web");
    const names = perHost.flat().map((x) => x.name).sort();
    expect(names).toEqual(tasks.map((t) => `web.${t.slot}.${t.id}`).sort());
    const inspect = JSON.parse(await c.hosts.hosts[0]!.docker(["inspect", perHost[0]![0]!.id]))[0];
    expect(inspect.Config.Labels).toMatchObject({ "io.shoal.service.name": "web", "io.shoal.service.id": created.body.id });
    expect(inspect.HostConfig.RestartPolicy.Name).toBe("no");
  });

  it("converges on scale up, scale down", async () => {
    await c.api("POST", "/v1/services/scale", { services: { web: 9 } });
    await c.waitFor("9 containers", async () => (await containersEverywhere()).length === 9 && (await running("web")).length === 9);
    await c.api("POST", "/v1/services/scale", { services: { web: 3 } });
    await c.waitFor("3 containers", async () => (await containersEverywhere(true)).length === 3);
    expect((await running("web")).length).toBe(3);
  });

  it("restarts a failing container per its restart policy", async () => {
    await c.api("POST", "/v1/services", {
      name: "crash",
      task: { container: { image: TEST_IMAGE, command: ["sh", "-c", "sleep 0.2; exit 3"] }, restartPolicy: { condition: "on-failure", delayMs: 0, maxAttempts: 2 } },
    });
    const tasks = await c.waitFor("3 failed attempts", async () => {
      const all = (await c.api("GET", "/v1/tasks?service=crash")).body as any[];
      return all.filter((t) => t.status.state === "failed").length === 3 ? all : undefined;
    });
    expect(tasks.every((t) => t.status.exitCode === 3 || t.status.state !== "failed")).toBe(true);
    expect(tasks.find((t) => t.status.state === "failed").status.error).toMatch(/non-zero exit \(3\)/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(((await c.api("GET", "/v1/tasks?service=crash")).body as any[]).length).toBe(3); // max attempts reached: no 4th
    await c.api("DELETE", "/v1/services/crash");
  });

  it("a healthcheck gates running; an unhealthy task fails", async () => {
    await c.api("POST", "/v1/services", {
      name: "healthy",
      task: {
        container: {
          image: TEST_IMAGE,
          command: ["sh", "-c", "sleep 2; echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp"],
          healthcheck: { test: ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"], intervalMs: 500, timeoutMs: 1000, retries: 20 },
        },
      },
    });
    await c.waitFor("task starting (not yet healthy)", async () => {
      const [t] = (await c.api("GET", "/v1/tasks?service=healthy")).body as any[];
      return t?.status.state === "starting";
    });
    await c.waitFor("task running once healthy", async () => (await running("healthy")).length === 1);
    await c.api("POST", "/v1/services", {
      name: "sick",
      task: {
        container: { image: TEST_IMAGE, command: ["sleep", "3600"], healthcheck: { test: ["CMD", "false"], intervalMs: 300, timeoutMs: 300, retries: 1 } },
        restartPolicy: { condition: "none" },
      },
    });
    const [sick] = await c.waitFor("unhealthy task failed", async () => {
      const all = (await c.api("GET", "/v1/tasks?service=sick")).body as any[];
      return all[0]?.status.state === "failed" ? all : undefined;
    });
    expect(sick.status.error).toMatch(/unhealthy/);
    await c.api("DELETE", "/v1/services/healthy");
    await c.api("DELETE", "/v1/services/sick");
  });

  it("removing a service removes its containers", async () => {
    await c.api("DELETE", "/v1/services/web");
    await c.waitFor("no shoal containers left", async () => (await containersEverywhere(true)).length === 0);
  });
});

describe("agent and control-plane outages", () => {
  let c: ShoalCluster;
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "outage" });
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  const containers = async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).flat();
  const startedAt = async () => {
    const out = new Map<string, string>();
    for (const h of c.hosts.hosts)
      for (const x of await shoalContainers(h, true)) out.set(x.name, (await h.docker(["inspect", "-f", "{{.State.StartedAt}}", x.id])).trim());
    return out;
  };
  const runningTasks = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running").length;

  it("SIGKILL of an agent five times during container starts leaves no duplicate and restarts no healthy container", async () => {
    await c.api("POST", "/v1/services", { name: "steady", replicas: 3, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"] } } });
    await c.waitFor("steady running", async () => (await runningTasks("steady")) === 3);
    const before = await startedAt();
    await c.api("POST", "/v1/services", { name: "burst", replicas: 15, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"] } } });
    const victim = c.hosts.hosts[0]!;
    for (let i = 0; i < 5; i++) {
      await c.agents.get(victim.name)!.kill("SIGKILL");
      await c.startAgent(victim);
      await new Promise((r) => setTimeout(r, 150 + i * 100));
    }
    await c.waitFor("burst running", async () => (await runningTasks("burst")) === 15, 90_000);
    const all = await containers();
    const perTask = new Map<string, number>();
    for (const x of all) perTask.set(x.task, (perTask.get(x.task) ?? 0) + 1);
    expect([...perTask.values()].every((n) => n === 1)).toBe(true);
    expect(all.filter((x) => x.name.startsWith("burst.")).length).toBe(15);
    const after = await startedAt();
    for (const [name, started] of before) expect(after.get(name), name).toBe(started);
  });

  it("stopping the control plane restarts no container, and the agents reconnect", async () => {
    const outageMs = Number(process.env.SHOAL_E2E_OUTAGE_MS ?? 60_000);
    const before = await startedAt();
    await c.controlPlane.stop();
    await new Promise((r) => setTimeout(r, outageMs));
    expect(await startedAt()).toEqual(before);
    await c.restartControlPlane();
    const restarted = performance.now();
    await c.waitFor("agents back and every node ready", async () => {
      const nodes = (await c.api("GET", "/v1/nodes")).body as any[];
      return nodes.length === 3 && nodes.every((n) => n.status.state === "ready");
    }, 60_000);
    console.log(`nodes ready ${Math.round(performance.now() - restarted)} ms after the restart`);
    expect(await startedAt()).toEqual(before);
    // The reconnected agents still act on changes.
    await c.api("POST", "/v1/services/scale", { services: { steady: 6 } });
    await c.waitFor("steady scaled after the outage", async () => (await runningTasks("steady")) === 6);
  }, 300_000);
});
