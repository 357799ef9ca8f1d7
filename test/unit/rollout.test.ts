import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskRow } from "../../src/db/tasks.js";
import type { UpdateState, UpdateStatus } from "../../src/domain/service-spec.js";
import { statusAfterUpdate } from "../../src/domain/update-status.js";
import { FakeCluster, fixtureNode, fixtureService, fixtureSpec, t0 } from "../helpers/cluster-fixtures.js";

const nodes = (n: number) => Array.from({ length: n }, (_, i) => fixtureNode(`node_${String(i).padStart(3, "0")}`));
const running = (c: FakeCluster) => c.report((t) => t.state === "assigned", "running");
const image = (c: FakeCluster, t: TaskRow) => c.services.find((s) => s.id === t.serviceId)!.spec.task.container.image;
const web = (over: Record<string, unknown> = {}, img = "busybox:1") =>
  fixtureSpec({ name: "web", replicas: 6, task: { container: { image: img } }, ...over });

/** The images of the running tasks desired up, sorted. */
function runningImages(c: FakeCluster, specs: Map<string, string>): string[] {
  return c
    .up("svc_w")
    .filter((t) => t.state === "running")
    .map((t) => specs.get(t.specHash) ?? "?")
    .sort();
}

/** Starts a 6-replica service on 3 nodes, all running, and records which hash means which image. */
function started(over: Record<string, unknown> = {}) {
  const c = new FakeCluster(nodes(3), [fixtureService("svc_w", web(over))]);
  const specs = new Map<string, string>();
  const remember = () => {
    for (const t of c.tasks) if (!specs.has(t.specHash)) specs.set(t.specHash, image(c, t));
  };
  c.reconcile();
  remember();
  running(c);
  c.reconcile();
  return { c, specs, remember, svc: c.services[0]! };
}

describe("rolling update status", () => {
  it("an update that changes the tasks starts `updating`; one that does not keeps the status", () => {
    const { c, svc } = started();
    c.updateSpec("svc_w", { ...svc.spec, replicas: 3 });
    expect(svc.updateStatus).toBeNull();
    c.updateSpec("svc_w", web({ replicas: 3 }, "busybox:2"));
    expect(svc.updateStatus).toMatchObject({ state: "updating", message: "update in progress", startedAt: t0 });
  });

  it("completes once every slot runs the new spec and the last one was watched for `monitor`", () => {
    const { c, svc, remember } = started({ update: { parallelism: 0, monitorMs: 5000 } });
    c.updateSpec("svc_w", web({ update: { parallelism: 0, monitorMs: 5000 } }, "busybox:2"));
    c.reconcile();
    remember();
    c.now += 1000;
    running(c);
    const watching = c.reconcile();
    expect(svc.updateStatus!.state).toBe("updating");
    expect(watching.wakes.get("svc_w")).toBe(c.now + 5000);
    c.now += 5000;
    const done = c.reconcile();
    expect(svc.updateStatus).toMatchObject({ state: "completed", message: "update completed", completedAt: c.now });
    expect(done.events).toContainEqual(expect.objectContaining({ type: "service", action: "update.completed", actorId: "svc_w" }));
    expect(svc.version).toBe(3);
  });

  it("a later write that does not change the tasks clears a finished status and keeps a running or paused one", () => {
    const at = (state: UpdateState): UpdateStatus => ({ state, message: state, startedAt: t0 });
    const spec = web();
    const scaled = { ...spec, replicas: 9 };
    for (const [state, after] of [
      ["completed", null],
      ["rollback_completed", null],
      ["updating", "updating"],
      ["paused", "paused"],
      ["rollback_started", "rollback_started"],
      ["rollback_paused", "rollback_paused"],
    ] as const)
      expect(statusAfterUpdate(spec, scaled, at(state), t0 + 1)?.state ?? null).toBe(after);
    expect(statusAfterUpdate(spec, web({}, "busybox:2"), at("completed"), t0 + 1)).toMatchObject({ state: "updating", startedAt: t0 + 1 });
  });

  it("waits `delay` after a batch runs before the next batch", () => {
    const { c, remember } = started({ update: { parallelism: 2, delayMs: 10_000 } });
    c.now += 1000;
    c.updateSpec("svc_w", web({ update: { parallelism: 2, delayMs: 10_000 } }, "busybox:2"));
    c.reconcile();
    remember();
    const newOnes = () => c.up("svc_w").filter((t) => t.createdAt > t0).length;
    expect(newOnes()).toBe(2);
    running(c);
    const plan = c.reconcile();
    expect(newOnes()).toBe(2);
    expect(plan.wakes.get("svc_w")).toBe(c.now + 10_000);
    c.now += 10_000;
    c.reconcile();
    expect(newOnes()).toBe(4);
  });
});

describe("rolling update failures", () => {
  /** Updates to v2 with parallelism 2; the first batch fails once it starts. */
  function failingBatch(update: Record<string, unknown>) {
    const s = started({ update: { parallelism: 2, ...update } });
    s.c.updateSpec("svc_w", web({ update: { parallelism: 2, ...update } }, "busybox:2"));
    s.c.reconcile();
    s.remember();
    s.c.now += 1000;
    s.c.report((t) => t.state === "assigned", "failed", 1);
    const plan = s.c.reconcile();
    s.remember();
    return { ...s, plan };
  }

  it("pause: stops after the first batch and reports why, leaving the other slots on v1", () => {
    const { c, svc, specs, plan } = failingBatch({ failureAction: "pause" });
    expect(svc.updateStatus).toMatchObject({ state: "paused" });
    expect(svc.updateStatus!.message).toMatch(/^update paused due to failure or early termination of task task_\d+$/);
    expect(plan.events).toContainEqual(expect.objectContaining({ action: "update.paused" }));
    for (let i = 0; i < 3; i++) {
      c.now += 10_000;
      running(c);
      c.reconcile();
    }
    // Only the first batch's two slots ever took v2.
    const v2Slots = new Set(c.tasks.filter((t) => specs.get(t.specHash) === "busybox:2").map((t) => t.slot));
    expect(v2Slots.size).toBe(2);
    expect(runningImages(c, specs).filter((i) => i === "busybox:1")).toHaveLength(4);
  });

  it("rollback: returns to the previous spec with rollback_config, then rollback_completed", () => {
    const { c, svc, specs, plan, remember } = failingBatch({ failureAction: "rollback" });
    expect(svc.spec.task.container.image).toBe("busybox:1");
    expect(svc.previousSpec!.task.container.image).toBe("busybox:2");
    expect(svc.updateStatus).toMatchObject({ state: "rollback_started" });
    expect(svc.updateStatus!.message).toMatch(/^update rolled back due to failure or early termination of task/);
    expect(plan.events).toContainEqual(expect.objectContaining({ action: "update.rolled_back" }));
    for (let i = 0; i < 6 && svc.updateStatus!.state !== "rollback_completed"; i++) {
      remember();
      running(c);
      c.reconcile();
      c.now += 5000;
      c.reconcile();
    }
    expect(svc.updateStatus!.state).toBe("rollback_completed");
    expect(runningImages(c, specs)).toEqual(Array(6).fill("busybox:1"));
    expect(c.up("svc_w")).toHaveLength(6);
  });

  it("a failure ratio within max_failure_ratio goes on", () => {
    const { c, svc } = failingBatch({ failureAction: "pause", maxFailureRatio: 0.5 });
    expect(svc.updateStatus!.state).toBe("updating");
    expect(c.up("svc_w").filter((t) => t.createdAt > t0 && t.state !== "failed").length).toBeGreaterThan(0);
  });

  it("continue: the update carries on past failures", () => {
    const { c, svc } = failingBatch({ failureAction: "continue" });
    expect(svc.updateStatus!.state).toBe("updating");
    expect(c.up("svc_w").filter((t) => t.createdAt === c.now)).not.toHaveLength(0);
  });

  it("a failure after `monitor` is not the update's", () => {
    const { c, svc } = started({ update: { parallelism: 0, monitorMs: 1000 } });
    c.updateSpec("svc_w", web({ update: { parallelism: 0, monitorMs: 1000 } }, "busybox:2"));
    c.reconcile();
    running(c);
    c.now += 2000;
    c.report((t) => t.state === "running" && t.slot === 1 && t.createdAt > t0, "failed", 1);
    c.reconcile();
    expect(svc.updateStatus!.state).not.toBe("paused");
  });

  it("a manual rollback of a paused update brings v1 back in the failed slots", () => {
    const { c, svc, specs } = failingBatch({ failureAction: "pause", order: "stop-first" });
    Object.assign(svc, { spec: svc.previousSpec, previousSpec: svc.spec, updateStatus: { state: "rollback_started", message: "manually requested rollback", startedAt: c.now } });
    for (let i = 0; i < 4; i++) {
      running(c);
      c.reconcile();
      c.now += 5000;
    }
    c.reconcile();
    expect(runningImages(c, specs)).toEqual(Array(6).fill("busybox:1"));
    expect(svc.updateStatus!.state).toBe("rollback_completed");
  });
});

describe("start-first rolling update", () => {
  it("never has fewer than the desired replicas running, whatever the agents report", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (parallelism, progress) => {
          const update = { parallelism, order: "start-first", monitorMs: 0 };
          const { c } = started({ update });
          c.updateSpec("svc_w", web({ update }, "busybox:2"));
          for (const step of progress) {
            c.reconcile();
            // Stopped tasks stop; new ones start only on some passes.
            c.report((t) => t.desiredState === "shutdown" && t.state === "running", "shutdown");
            if (step) running(c);
            c.now += 1000;
            expect(c.tasks.filter((t) => t.state === "running" && t.desiredState === "running").length).toBeGreaterThanOrEqual(6);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("rebalance", () => {
  /** 6 replicas on 3 nodes; node_002 goes down and comes back. */
  function afterReturn(rebalance: boolean) {
    const { c, svc } = started({ rebalance });
    c.nodes[2]!.state = "down";
    c.reconcile();
    running(c);
    c.reconcile();
    c.nodes[2]!.state = "ready";
    return { c, svc };
  }
  const count = (c: FakeCluster, nodeId: string) => c.up("svc_w").filter((t) => t.nodeId === nodeId && t.state === "running").length;

  it("off (Swarm's way): a returning node gets nothing back", () => {
    const { c } = afterReturn(false);
    c.reconcile();
    running(c);
    c.reconcile();
    expect(count(c, "node_002")).toBe(0);
  });

  it("on: tasks move to the returning node, new task first, parallelism at a time", () => {
    const { c } = afterReturn(true);
    let passes = 0;
    while (count(c, "node_002") < 2 && passes++ < 10) {
      c.reconcile();
      expect(c.up("svc_w").filter((t) => t.nodeId === "node_002" && t.state === "assigned").length).toBeLessThanOrEqual(1);
      c.report((t) => t.desiredState === "shutdown" && t.state === "running", "shutdown");
      expect(c.tasks.filter((t) => t.state === "running" && t.desiredState === "running").length).toBeGreaterThanOrEqual(6);
      running(c);
    }
    c.reconcile();
    expect([count(c, "node_000"), count(c, "node_001"), count(c, "node_002")]).toEqual([2, 2, 2]);
    const plan = c.reconcile();
    expect(plan.inserted).toHaveLength(0);
  });
});

describe("global services", () => {
  it("roll node by node under the same status, and pause on failure", () => {
    const spec = (img: string) => fixtureSpec({ name: "agent", mode: "global", task: { container: { image: img } }, update: { parallelism: 1, monitorMs: 0 } });
    const c = new FakeCluster(nodes(3), [fixtureService("svc_g", spec("busybox:1"))]);
    c.reconcile();
    running(c);
    c.now += 1000;
    c.updateSpec("svc_g", spec("busybox:2"));
    c.reconcile();
    const fresh = () => c.up("svc_g").filter((t) => t.createdAt > t0);
    expect(fresh()).toHaveLength(1);
    running(c);
    c.reconcile();
    running(c);
    c.reconcile();
    running(c);
    c.reconcile();
    expect(fresh()).toHaveLength(3);
    expect(c.services[0]!.updateStatus!.state).toBe("completed");

    c.now += 1000;
    c.updateSpec("svc_g", spec("busybox:3"));
    c.reconcile();
    c.report((t) => t.state === "assigned", "failed", 1);
    c.reconcile();
    expect(c.services[0]!.updateStatus!.state).toBe("paused");
    c.reconcile();
    expect(c.up("svc_g").filter((t) => t.createdAt === c.now && t.state !== "failed").length).toBeLessThanOrEqual(1);
  });
});
