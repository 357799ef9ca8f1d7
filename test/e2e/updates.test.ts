import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, tagTestImage } from "./hosts.js";

/** Rolling updates and rollback on real engines, gated on real healthchecks. */
describe("rolling updates", () => {
  let c: ShoalCluster;
  let v2 = "";
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 3, prefix: "upd" });
    v2 = await tagTestImage(c.hosts, "2");
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);
  // Each test's service goes before the next starts: six 1 s healthchecks (and a paused update's
  // restarting tasks) left running would load two cores enough to skew the next test's timing.
  afterEach(async () => {
    for (const s of (await c.api("GET", "/v1/services")).body as any[]) await c.api("DELETE", `/v1/services/${s.id}`);
    await c.waitFor("no service containers left", async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).every((l) => l.length === 0), 60_000);
  }, 90_000);

  // A passing check may take seconds on two loaded cores (an exec per second on 18 containers):
  // a 1 s timeout with one retry turned healthy tasks unhealthy and broke the "never fewer" samples.
  const healthy = { test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 10_000, retries: 3, startPeriodMs: 0 };
  const failing = { ...healthy, test: ["CMD", "false"] };
  const spec = (name: string, image: string, healthcheck: object, update: object) => ({
    name,
    replicas: 6,
    task: { container: { image, command: ["sleep", "3600"], stopGracePeriodMs: 0, healthcheck }, restartPolicy: { delayMs: 1000 } },
    update,
  });
  /** Healthy containers of a service on every engine, sampled at once: "image" per container. */
  const healthyOnEngines = async (service: string) => (await sampleEngines(service)).images;
  /**
   * The same, with how far apart the engines' answers were: a sample whose reads spread over more
   * than a new task's handover (its report, the reconcile, the old one's stop) may count an old
   * container as gone before the new one's engine was read, so "never fewer" uses tight samples only.
   */
  const sampleEngines = async (service: string) => {
    const reads = await Promise.all(
      c.hosts.hosts.map(async (h) => {
        const start = Date.now();
        const out = await h.docker(["ps", "--filter", "label=io.shoal.task.id", "--filter", "health=healthy", "--format", "{{.Names}} {{.Image}}"]);
        return { out, start, end: Date.now() };
      }),
    );
    const spreadMs = Math.max(...reads.map((r) => r.end)) - Math.min(...reads.map((r) => r.start));
    const images = reads
      .map((r) => r.out)
      .join("\n")
      .split("\n")
      .filter((line) => line.startsWith(`${service}.`))
      .map((line) => line.split(" ")[1]!);
    return { images, spreadMs };
  };
  const tightMs = 500;
  const inspect = async (service: string) => (await c.api("GET", `/v1/services/${service}`)).body as any;
  const update = async (service: string, body: object) => {
    const current = await inspect(service);
    const res = await c.api("PUT", `/v1/services/${service}?version=${current.version}`, body);
    expect(res.status).toBe(200);
  };

  it("v1→v2 with parallelism 2, start-first: never fewer than 6 healthy replicas, then `completed`", async () => {
    const cfg = { parallelism: 2, order: "start-first", monitorMs: 1000 };
    await c.api("POST", "/v1/services", spec("roll", TEST_IMAGE, healthy, cfg));
    await c.waitFor("6 healthy v1", async () => (await healthyOnEngines("roll")).length === 6, 60_000);
    await update("roll", spec("roll", v2, healthy, cfg));
    const samples: number[] = [];
    const done = await c.waitFor(
      "all 6 on v2, update completed",
      async () => {
        const { images, spreadMs } = await sampleEngines("roll");
        if (spreadMs <= tightMs) samples.push(images.length);
        const status = (await inspect("roll")).updateStatus;
        return images.length === 6 && images.every((i) => i === v2) && status?.state === "completed" && status;
      },
      120_000,
    );
    expect(done.message).toBe("update completed");
    // On two loaded cores a docker ps can take seconds, so few samples are tight; two still show the handover.
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(6);
  }, 200_000);

  it("an image whose healthcheck fails: the update pauses after the first batch, v1 keeps serving", async () => {
    const cfg = { parallelism: 2, order: "start-first", monitorMs: 5000, failureAction: "pause" };
    await c.api("POST", "/v1/services", spec("pause", TEST_IMAGE, healthy, cfg));
    await c.waitFor("6 healthy v1", async () => (await healthyOnEngines("pause")).length === 6, 60_000);
    await update("pause", spec("pause", v2, failing, cfg));
    const status = await c.waitFor("paused", async () => {
      const s = (await inspect("pause")).updateStatus;
      return s?.state === "paused" && s;
    }, 60_000);
    expect(status.message).toMatch(/^update paused due to failure or early termination of task task_/);
    // Stays paused: only the first batch's 2 slots ever tried v2, and v1 serves all 6.
    await new Promise((r) => setTimeout(r, 5000));
    const tasks = (await c.api("GET", "/v1/tasks?service=pause")).body as any[];
    expect(new Set(tasks.filter((t) => t.image === v2).map((t) => t.slot)).size).toBe(2);
    expect(await healthyOnEngines("pause")).toEqual(Array(6).fill(TEST_IMAGE));
    expect((await inspect("pause")).updateStatus.state).toBe("paused");

    // A manual rollback returns to v1 and ends the failing attempts.
    expect((await c.api("POST", "/v1/services/pause/rollback")).status).toBe(200);
    await c.waitFor("rollback completed", async () => (await inspect("pause")).updateStatus?.state === "rollback_completed", 60_000);
    const up = ((await c.api("GET", "/v1/tasks?service=pause&desired-state=running")).body as any[]).filter((t) => t.status.state === "running");
    expect(up.map((t) => t.image)).toEqual(Array(6).fill(TEST_IMAGE));
  }, 200_000);

  it("failure action rollback: the service returns to v1 by itself", async () => {
    const cfg = { parallelism: 2, order: "stop-first", monitorMs: 5000, failureAction: "rollback" };
    await c.api("POST", "/v1/services", spec("back", TEST_IMAGE, healthy, cfg));
    await c.waitFor("6 healthy v1", async () => (await healthyOnEngines("back")).length === 6, 60_000);
    await update("back", spec("back", v2, failing, cfg));
    const started = await c.waitFor("rollback started", async () => {
      const s = await inspect("back");
      return s.updateStatus?.state.startsWith("rollback") && s;
    }, 60_000);
    expect(started.updateStatus.message).toMatch(/^update rolled back due to failure or early termination of task task_/);
    expect(started.spec.task.container.image).toBe(TEST_IMAGE);
    await c.waitFor("rollback completed, 6 healthy v1", async () =>
      (await inspect("back")).updateStatus?.state === "rollback_completed" &&
      (await healthyOnEngines("back")).filter((i) => i === TEST_IMAGE).length === 6, 90_000);
    const events = (await c.api("GET", "/v1/tasks?service=back")).body as any[];
    expect(new Set(events.filter((t) => t.image === v2).map((t) => t.slot)).size).toBe(2);
  }, 230_000);

  it("rebalance: a node that comes back gets its share, new task first", async () => {
    const host = c.hosts.hosts[2]!;
    const node = (await c.api("GET", `/v1/nodes/${host.name}`)).body as any;
    const availability = async (value: string) => {
      const fresh = (await c.api("GET", `/v1/nodes/${node.id}`)).body as any;
      expect((await c.api("PATCH", `/v1/nodes/${node.id}?version=${fresh.version}`, { availability: value })).status).toBe(200);
    };
    await availability("drain");
    await c.api("POST", "/v1/services", { ...spec("spread", TEST_IMAGE, healthy, { parallelism: 1 }), rebalance: true });
    await c.waitFor("6 healthy on two hosts", async () => (await healthyOnEngines("spread")).length === 6, 60_000);
    await availability("active");
    const samples: number[] = [];
    await c.waitFor("2 on the returning host", async () => {
      const { images, spreadMs } = await sampleEngines("spread");
      if (spreadMs <= tightMs) samples.push(images.length);
      const tasks = ((await c.api("GET", "/v1/tasks?service=spread&desired-state=running")).body as any[]).filter((t) => t.status.state === "running");
      return tasks.length === 6 && tasks.filter((t) => t.nodeId === node.id).length === 2;
    }, 60_000);
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(6);
  }, 150_000);
});
