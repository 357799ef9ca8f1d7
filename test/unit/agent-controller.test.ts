import { describe, expect, it } from "vitest";
import { TaskController } from "../../agent/src/controller.js";
import { fixtureAssignment, recordingReport } from "../helpers/agent-fixtures.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const healthcheck = { test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0 };

describe("TaskController", () => {
  it("runs a task without a container: pulls the missing image, creates, starts, and reports each state in order", async () => {
    const engine = new FakeEngine();
    const r = recordingReport();
    await new TaskController(fixtureAssignment("task_1"), engine, "node_1", r.report).run();
    expect(r.states()).toEqual(["accepted", "preparing", "ready", "starting", "running"]);
    expect(engine.calls).toEqual(["pull busybox:1", "create web.1.task_1", "start web.1.task_1"]);
    const [c] = await engine.listContainers({ labelFilters: ["io.shoal.task.id=task_1"] });
    expect(c?.Labels["io.shoal.node.id"]).toBe("node_1");
  });

  it("prepare is idempotent: a taken name is the container an earlier run prepared, not a second one", async () => {
    const engine = new FakeEngine();
    const controller = new TaskController(fixtureAssignment("task_1"), engine, "node_1", recordingReport().report);
    const first = await controller.prepare();
    const again = await controller.prepare();
    expect(first.created).toBe(true);
    expect(again).toEqual({ id: first.id, created: false });
    expect(engine.containers.size).toBe(1);
    expect(engine.calls.filter((c) => c.startsWith("pull"))).toEqual(["pull busybox:1"]);
  });

  it("a run that finds its container already created (an agent killed mid-start) starts that one", async () => {
    const engine = new FakeEngine();
    const a = fixtureAssignment("task_1");
    await new TaskController(a, engine, "node_1", recordingReport().report).prepare();
    const r = recordingReport();
    await new TaskController(a, engine, "node_1", r.report).run();
    expect(engine.containers.size).toBe(1);
    expect([...engine.containers.values()][0]!.state.Running).toBe(true);
    expect(r.states()).toEqual(["accepted", "preparing", "starting", "running"]);
  });

  it("a run that finds its container already exited reports the exit instead of starting it again", async () => {
    const engine = new FakeEngine({ onStart: () => ({ exitCode: 3 }) });
    const a = fixtureAssignment("task_1");
    const first = new TaskController(a, engine, "node_1", recordingReport().report);
    await first.start((await first.prepare()).id);
    const r = recordingReport();
    await new TaskController(a, engine, "node_1", r.report).run();
    expect(engine.calls.filter((c) => c.startsWith("start"))).toHaveLength(1);
    expect(r.reports.at(-1)).toEqual(["task_1", "failed", { exitCode: 3, error: "task: non-zero exit (3)" }]);
  });

  it("start and shutdown are idempotent; remove of a gone container still reports shutdown", async () => {
    const engine = new FakeEngine();
    const r = recordingReport();
    const controller = new TaskController(fixtureAssignment("task_1"), engine, "node_1", r.report);
    const { id } = await controller.prepare();
    await controller.start(id);
    await controller.start(id);
    await controller.shutdown(id);
    await controller.shutdown(id);
    await controller.remove(id);
    await controller.remove(id);
    expect(engine.calls).toEqual(["pull busybox:1", "create web.1.task_1", "start web.1.task_1", "stop web.1.task_1", "remove web.1.task_1"]);
    expect(r.states().at(-1)).toBe("shutdown");
  });

  it.each([
    { name: "exit 0 completes", exitCode: 0, report: ["complete", { exitCode: 0 }] },
    { name: "a non-zero exit fails", exitCode: 3, report: ["failed", { exitCode: 3, error: "task: non-zero exit (3)" }] },
  ])("wait: $name", async ({ exitCode, report }) => {
    const engine = new FakeEngine({ onStart: () => ({ exitCode }) });
    const r = recordingReport();
    const controller = new TaskController(fixtureAssignment("task_1"), engine, "node_1", r.report);
    const { id } = await controller.prepare();
    await controller.start(id);
    await controller.wait(id);
    expect(r.reports.at(-1)).toEqual(["task_1", ...report]);
  });

  it("wait: a healthcheck gates running; an unhealthy container is stopped and fails", async () => {
    const engine = new FakeEngine({ health: () => "starting" });
    const r = recordingReport();
    const a = fixtureAssignment("task_1", { task: { container: { image: "busybox:1", healthcheck } } });
    await new TaskController(a, engine, "node_1", r.report).run();
    expect(r.reports.at(-1)).toEqual(["task_1", "starting", { message: "health: starting" }]);
    const controller = new TaskController(a, engine, "node_1", r.report);
    const id = [...engine.containers.keys()][0]!;
    engine.setHealth(a.containerName, "healthy");
    await controller.wait(id);
    expect(r.states().at(-1)).toBe("running");
    engine.setHealth(a.containerName, "unhealthy");
    await controller.wait(id);
    expect(r.reports.at(-1)).toEqual(["task_1", "failed", { error: "task: container is unhealthy", exitCode: null }]);
    expect(engine.containers.get(id)!.state.Running).toBe(false);
  });

  it("a step that fails rejects the task with the engine's message", async () => {
    const engine = new FakeEngine();
    engine.pullImage = async () => {
      throw new Error("pull access denied for nosuch");
    };
    const r = recordingReport();
    await new TaskController(fixtureAssignment("task_1", { task: { container: { image: "nosuch:1" } } }), engine, "node_1", r.report).run();
    expect(r.reports.at(-1)).toEqual(["task_1", "rejected", { error: "pull access denied for nosuch" }]);
    expect(engine.containers.size).toBe(0);
  });

  it("pulls a missing image with the assignment's registry credentials, and without any when it has none", async () => {
    const engine = new FakeEngine();
    const auth = { username: "ci", password: "s3cret", serveraddress: "registry.example:5000" };
    const image = "registry.example:5000/acme/web:1";
    await new TaskController({ ...fixtureAssignment("task_1", { task: { container: { image } } }), registryAuth: auth }, engine, "node_1", recordingReport().report).prepare();
    await new TaskController(fixtureAssignment("task_2", { task: { container: { image: "busybox:2" } } }), engine, "node_1", recordingReport().report).prepare();
    expect(engine.calls.filter((c) => c.startsWith("pull "))).toEqual([`pull ${image}`, "pull busybox:2"]);
    expect(engine.pullAuths).toEqual([auth, undefined]);
  });

  it("creates the named volumes of the task's mounts before the container", async () => {
    const engine = new FakeEngine();
    const mounts = [{ type: "volume", source: "data", target: "/data" }];
    await new TaskController(fixtureAssignment("task_1", { task: { container: { image: "busybox:1", mounts } } }), engine, "node_1", recordingReport().report).prepare();
    expect([...engine.volumes]).toEqual(["data"]);
  });
});
