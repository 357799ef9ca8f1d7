import { describe, expect, it } from "vitest";
import type { ContainerSummary } from "../../agent/src/docker/client.js";
import { Worker, planSync } from "../../agent/src/worker.js";
import { fixtureAssignment, recordingReport } from "../helpers/agent-fixtures.js";
import { silentLogger } from "../helpers/app.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const container = (taskId: string, State: ContainerSummary["State"] = "running"): ContainerSummary => ({
  Id: `c-${taskId}`,
  Names: [`/web.1.${taskId}`],
  Labels: { "io.shoal.task.id": taskId },
  State,
  Status: State,
});

describe("planSync", () => {
  const running = fixtureAssignment("task_run");
  const ready = fixtureAssignment("task_ready", {}, { desiredState: "ready" });
  const shutdown = fixtureAssignment("task_down", {}, { desiredState: "shutdown" });
  const remove = fixtureAssignment("task_rm", {}, { desiredState: "remove" });
  const complete = fixtureAssignment("task_done", {}, { desiredState: "complete" });
  it.each([
    { name: "desired running, no container: run", assignments: [running], containers: [], actions: [["run", "task_run"]] },
    { name: "desired running, a container: wait", assignments: [running], containers: [container("task_run")], actions: [["wait", "task_run"]] },
    { name: "desired ready: left as it is", assignments: [ready], containers: [container("task_ready", "created")], actions: [] },
    { name: "desired shutdown: shut down, container or not", assignments: [shutdown, remove, complete], containers: [container("task_down")], actions: [["shutdown", "task_down"], ["shutdown", "task_rm"], ["shutdown", "task_done"]] },
    { name: "a container of no assignment: removed", assignments: [], containers: [container("task_gone", "exited")], actions: [["remove-orphan", "task_gone"]] },
  ])("$name", ({ assignments, containers, actions }) => {
    const plan = planSync(assignments, new Map(containers.map((c) => [c.Labels["io.shoal.task.id"]!, c])), new Set());
    expect(plan.map((a) => [a.kind, a.kind === "remove-orphan" ? a.taskId : a.assignment.id])).toEqual(actions);
  });

  it("keeps the stopped container of an ended task still in the history (for its logs); a running one, or one no longer listed, goes", () => {
    const containers = new Map([
      ["task_failed", container("task_failed", "exited")],
      ["task_stuck", container("task_stuck", "running")],
      ["task_reaped", container("task_reaped", "exited")],
    ]);
    const plan = planSync([], containers, new Set(), () => true, new Set(["task_failed", "task_stuck"]));
    expect(plan.map((a) => [a.kind, a.kind === "remove-orphan" ? a.taskId : a.assignment.id])).toEqual([["remove-orphan", "task_stuck"], ["remove-orphan", "task_reaped"]]);
  });

  it("skips tasks a step is still working on", () => {
    const plan = planSync([running, shutdown], new Map([["task_gone", container("task_gone")]]), new Set(["task_run", "task_down", "task_gone"]));
    expect(plan).toEqual([]);
  });
});

const settled = async (worker: Worker) => {
  for (let i = 0; i < 5; i++) {
    await worker.idle();
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("Worker", () => {
  it("makes the engine match the assignments: starts, stops and removes, and removes containers no assignment names", async () => {
    const engine = new FakeEngine();
    const r = recordingReport();
    const worker = new Worker(engine, "node_1", r.report, silentLogger);
    worker.assign([fixtureAssignment("task_1"), fixtureAssignment("task_2")]);
    await settled(worker);
    expect((await engine.listContainers()).map((c) => c.Labels["io.shoal.task.id"]).sort()).toEqual(["task_1", "task_2"]);
    await engine.createContainer("stray", { Image: "busybox:1", Labels: { "io.shoal.task.id": "task_stray" } });
    worker.assign([fixtureAssignment("task_1", {}, { desiredState: "shutdown" })]);
    await settled(worker);
    expect(engine.containers.size).toBe(0);
    expect(r.states("task_1").at(-1)).toBe("shutdown");
    expect(r.states("task_2")).not.toContain("shutdown");
  });

  it("leaves every container alone until the dispatcher first answered (a restarted agent adopts its tasks)", async () => {
    const engine = new FakeEngine();
    const worker = new Worker(engine, "node_1", recordingReport().report, silentLogger);
    await engine.createContainer("web.1.task_1", { Image: "busybox:1", Labels: { "io.shoal.task.id": "task_1" } });
    worker.nudge();
    await settled(worker);
    expect(engine.containers.size).toBe(1);
    worker.assign([]);
    await settled(worker);
    expect(engine.containers.size).toBe(0);
  });

  it("syncs asked for during a sync run once after it, never alongside: no task gets two containers", async () => {
    const engine = new FakeEngine();
    const worker = new Worker(engine, "node_1", recordingReport().report, silentLogger);
    worker.assign([fixtureAssignment("task_1")]);
    for (let i = 0; i < 10; i++) worker.nudge();
    await settled(worker);
    expect(engine.calls.filter((c) => c.startsWith("create"))).toEqual(["create web.1.task_1"]);
  });

  it("an exit the engine reports is picked up by the next sync", async () => {
    const engine = new FakeEngine();
    const r = recordingReport();
    const worker = new Worker(engine, "node_1", r.report, silentLogger);
    worker.assign([fixtureAssignment("task_1")]);
    await settled(worker);
    engine.crash("web.1.task_1", 137);
    worker.nudge();
    await settled(worker);
    expect(r.reports.at(-1)).toEqual(["task_1", "failed", { exitCode: 137, error: "task: non-zero exit (137)" }]);
  });

  it("a failing engine call is logged and retried on the next sync", async () => {
    const engine = new FakeEngine();
    const warnings: string[] = [];
    const worker = new Worker(engine, "node_1", recordingReport().report, { ...silentLogger, warn: (m) => void warnings.push(m) });
    engine.down = "connect ENOENT /var/run/docker.sock";
    worker.assign([fixtureAssignment("task_1")]);
    await settled(worker);
    expect(warnings).toContain("sync failed");
    engine.down = undefined;
    worker.nudge();
    await settled(worker);
    expect(engine.containers.size).toBe(1);
  });
});

describe("planSync with overlay networks", () => {
  it("waits to run a task until its networks are set up on this host", () => {
    const a = fixtureAssignment("task_net", {}, { attachments: [{ networkId: "net_1", ip: "10.10.1.11", aliases: [] }] });
    expect(planSync([a], new Map(), new Set(), () => false)).toEqual([]);
    expect(planSync([a], new Map(), new Set(), () => true)).toEqual([{ kind: "run", assignment: a }]);
  });
});
