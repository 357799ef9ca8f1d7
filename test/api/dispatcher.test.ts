import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const createService = (body: Record<string, unknown>) =>
  t.call("POST", "/v1/services", { token: t.tokens.admin, body: { task: { container: { image: "busybox:1" } }, ...body } });

describe("assignments long-poll", () => {
  it("answers at once with only this node's tasks and their specs", async () => {
    const a = await joinNode(t);
    const b = await joinNode(t);
    await createService({ name: "web", replicas: 4 });
    const res = await t.call("GET", "/v1/agent/assignments?since=-1", { token: a.credential });
    expect(res.status).toBe(200);
    expect(res.body.tasks).toHaveLength(2);
    for (const task of res.body.tasks) {
      expect(task).toMatchObject({ serviceName: "web", desiredState: "running", state: "assigned", spec: { task: { container: { image: "busybox:1" } } } });
      expect(task.containerName).toBe(`web.${task.slot}.${task.id}`);
    }
    const other = await t.call("GET", "/v1/agent/assignments?since=-1", { token: b.credential });
    const ids = new Set(res.body.tasks.map((x: any) => x.id));
    expect(other.body.tasks.every((x: any) => !ids.has(x.id))).toBe(true);
  });

  it("waits while nothing changed and wakes at once when something does", async () => {
    const a = await joinNode(t);
    const first = await t.call("GET", "/v1/agent/assignments?since=-1", { token: a.credential });
    const started = performance.now();
    const idle = await t.call("GET", `/v1/agent/assignments?since=${first.body.generation}&waitMs=300`, { token: a.credential });
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(idle.body.tasks).toEqual([]);
    const poll = t.call("GET", `/v1/agent/assignments?since=${first.body.generation}&waitMs=5000`, { token: a.credential });
    await new Promise((r) => setTimeout(r, 50));
    const created = performance.now();
    await createService({ name: "web" });
    const woke = await poll;
    expect(performance.now() - created).toBeLessThan(1000);
    expect(woke.body.tasks).toHaveLength(1);
    expect(woke.body.generation).not.toBe(first.body.generation);
  });

  it("a poll is a heartbeat", async () => {
    const a = await joinNode(t);
    t.clock.advance(5_000);
    await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: a.credential });
    t.clock.advance(5_000);
    expect((await t.call("GET", `/v1/nodes/${a.id}`, { token: t.tokens.read })).body.status.state).toBe("ready");
  });
});

describe("status reports", () => {
  it("move the node's own tasks forward only, and a failure restarts the slot", async () => {
    const a = await joinNode(t);
    const b = await joinNode(t);
    await createService({ name: "web", replicas: 2, task: { container: { image: "busybox:1" }, restartPolicy: { delayMs: 0 } } });
    const mine = (await t.call("GET", "/v1/agent/assignments?since=-1", { token: a.credential })).body.tasks[0];
    const theirs = (await t.call("GET", "/v1/agent/assignments?since=-1", { token: b.credential })).body.tasks[0];
    const report = (token: string, updates: unknown[]) => t.call("POST", "/v1/agent/status", { token, body: { updates } });

    expect((await report(a.credential, [{ taskId: mine.id, state: "running" }, { taskId: theirs.id, state: "failed" }])).body).toEqual({ applied: 1 });
    expect((await report(a.credential, [{ taskId: mine.id, state: "starting" }])).body).toEqual({ applied: 0 });
    const task = async (id: string) => (await t.call("GET", `/v1/tasks/${id}`, { token: t.tokens.read })).body;
    expect((await task(mine.id)).status.state).toBe("running");
    expect((await task(theirs.id)).status.state).toBe("assigned");

    await report(a.credential, [{ taskId: mine.id, state: "failed", error: "exit 3", exitCode: 3 }]);
    expect(await task(mine.id)).toMatchObject({ desiredState: "shutdown", status: { state: "failed", error: "exit 3", exitCode: 3 } });
    const slot = (await t.call("GET", `/v1/tasks?name=web.${mine.slot}`, { token: t.tokens.read })).body;
    expect(slot.filter((x: any) => x.desiredState === "running")).toHaveLength(1);
  });

  it("bad reports get 400 naming the field", async () => {
    const a = await joinNode(t);
    const bad = await t.call("POST", "/v1/agent/status", { token: a.credential, body: { updates: [{ taskId: "task_0123", state: "exploded" }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("body.updates.0.state");
  });
});
