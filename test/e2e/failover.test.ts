import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE } from "./hosts.js";

/** Losing a host, and draining one, on real engines. */
describe("failover", () => {
  let c: ShoalCluster;
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "failover" });
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  const running = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running");

  it("drain moves a node's tasks and none remain on it", async () => {
    await c.api("POST", "/v1/services", { name: "d", replicas: 6, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 } } });
    await c.waitFor("6 running", async () => (await running("d")).length === 6);
    const host = c.hosts.hosts[0]!;
    const node = ((await c.api("GET", `/v1/nodes/${host.name}`)).body) as any;
    await c.api("PATCH", `/v1/nodes/${node.id}?version=${node.version}`, { availability: "drain" });
    await c.waitFor("drained host empty, 6 running elsewhere", async () => {
      const tasks = await running("d");
      return (await shoalContainers(host, true)).length === 0 && tasks.length === 6 && tasks.every((t) => t.nodeId !== node.id);
    });
    const fresh = ((await c.api("GET", `/v1/nodes/${node.id}`)).body) as any;
    await c.api("PATCH", `/v1/nodes/${node.id}?version=${fresh.version}`, { availability: "active" });
    await c.api("DELETE", "/v1/services/d");
    await c.waitFor("d gone", async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).every((l) => l.length === 0));
  });

  it("killing a host's engine and agent: every replica runs again on the others", async () => {
    await c.api("POST", "/v1/services", { name: "f", replicas: 9, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 } } });
    await c.waitFor("9 running", async () => (await running("f")).length === 9);
    const victim = c.hosts.hosts[2]!;
    const victimNode = ((await c.api("GET", `/v1/nodes/${victim.name}`)).body as any).id;
    await Promise.all([c.agents.get(victim.name)!.kill("SIGKILL"), victim.killEngine()]);
    await c.waitFor("node down", async () => ((await c.api("GET", `/v1/nodes/${victimNode}`)).body as any).status.state === "down", 30_000);
    await c.waitFor("9 running on the survivors", async () => {
      const tasks = await running("f");
      return tasks.length === 9 && tasks.every((t) => t.nodeId !== victimNode);
    }, 60_000);
    const survivors = (await Promise.all(c.hosts.hosts.slice(0, 2).map((h) => shoalContainers(h)))).flat();
    expect(survivors.filter((x) => x.name.startsWith("f.")).length).toBe(9);

    // The host comes back: its agent is told to stop the replaced tasks, so no more than 9 run.
    await victim.startEngine();
    await c.startAgent(victim);
    await c.waitFor("victim ready again", async () => ((await c.api("GET", `/v1/nodes/${victimNode}`)).body as any).status.state === "ready", 30_000);
    await c.waitFor("no stale task runs on the returning host", async () => (await shoalContainers(victim)).length === 0, 30_000);
    const all = (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)))).flat();
    expect(all.filter((x) => x.name.startsWith("f.")).length).toBe(9);
  });

  it("an engine failure with the agent alive: the node goes down, its tasks fail and run elsewhere; back when the engine is", async () => {
    await c.api("POST", "/v1/services", { name: "e", replicas: 6, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 } } });
    await c.waitFor("6 running", async () => (await running("e")).length === 6);
    const host = c.hosts.hosts[1]!;
    const node = ((await c.api("GET", `/v1/nodes/${host.name}`)).body as any).id;
    const onHost = (await running("e")).filter((t) => t.nodeId === node).map((t) => t.id);
    expect(onHost.length).toBeGreaterThan(0);
    await host.killEngine();
    // Its lease may run out first ("heartbeat failure"); the agent's report then says why.
    await c.waitFor("node down, reported by its agent", async () => {
      const n = (await c.api("GET", `/v1/nodes/${node}`)).body as any;
      return n.status.state === "down" && /engine unreachable/.test(n.status.message);
    }, 20_000);
    await c.waitFor("its tasks reported failed", async () => {
      const tasks = (await c.api("GET", "/v1/tasks?service=e")).body as any[];
      return onHost.every((id) => tasks.find((t) => t.id === id)?.status.state === "failed");
    });
    await c.waitFor("6 running elsewhere", async () => {
      const tasks = await running("e");
      return tasks.length === 6 && tasks.every((t) => t.nodeId !== node);
    });
    await host.startEngine();
    await c.waitFor("node ready again", async () => ((await c.api("GET", `/v1/nodes/${node}`)).body as any).status.state === "ready", 30_000);
  });
});
