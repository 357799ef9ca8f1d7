import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE } from "./hosts.js";

/** Agents inside their hosts' network namespaces: cutting a host's link partitions its agent from the control plane. */
describe("network partition of a host", () => {
  let c: ShoalCluster;
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "part", agentsInHosts: true });
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  const running = async () =>
    ((await c.api("GET", "/v1/tasks?service=p&desired-state=running")).body as any[]).filter((t) => t.status.state === "running");
  const containersRunning = async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)))).flat().length;

  it("a host cut off for 30 s has its tasks replaced; after healing no more than the desired replicas run", async () => {
    await c.api("POST", "/v1/services", { name: "p", replicas: 6, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 } } });
    await c.waitFor("6 running", async () => (await running()).length === 6);
    const host = c.hosts.hosts[0]!;
    const node = ((await c.api("GET", `/v1/nodes/${host.name}`)).body as any).id;
    await host.linkDown();
    await c.waitFor("node down and 6 running elsewhere", async () => {
      const n = (await c.api("GET", `/v1/nodes/${node}`)).body as any;
      const tasks = await running();
      return n.status.state === "down" && tasks.length === 6 && tasks.every((t) => t.nodeId !== node);
    }, 30_000);
    // The cut-off host's containers still run (it cannot know); the others run the replacements.
    expect(await containersRunning()).toBeGreaterThan(6);
    await new Promise((r) => setTimeout(r, 30_000 - 8_000));
    await host.linkUp();
    const healed = performance.now();
    await c.waitFor("no more than 6 running once healed", async () => (await containersRunning()) === 6, 30_000);
    const tookMs = performance.now() - healed;
    console.log(`extra replicas stopped ${Math.round(tookMs)} ms after healing`);
    // The agent retries at least once a heartbeat period (2 s), then stops the replaced tasks.
    expect(tookMs).toBeLessThan(6_000);
    expect((await shoalContainers(host)).length).toBe(0);
    expect(((await c.api("GET", `/v1/nodes/${node}`)).body as any).status.state).toBe("ready");
  }, 120_000);
});
