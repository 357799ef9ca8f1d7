import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const admin = () => ({ token: t.tokens.admin });
const create = (body: Record<string, unknown>) =>
  t.call("POST", "/v1/services", { ...admin(), body: { task: { container: { image: "busybox:1" } }, ...body } });
const tasksOf = async (service: string) => (await t.call("GET", `/v1/tasks?service=${service}`, admin())).body as any[];

describe("services API", () => {
  it("create answers with the tasks already assigned, spread over the nodes", async () => {
    for (let i = 0; i < 3; i++) await joinNode(t);
    const res = await create({ name: "web", replicas: 6 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ version: 1, spec: { name: "web", mode: "replicated", replicas: 6 }, serviceStatus: { desiredTasks: 6, runningTasks: 0 } });
    const tasks = await tasksOf("web");
    expect(tasks).toHaveLength(6);
    expect(tasks.every((x) => x.status.state === "assigned" && x.desiredState === "running")).toBe(true);
    expect(tasks.map((x) => x.name).sort()).toEqual(["web.1", "web.2", "web.3", "web.4", "web.5", "web.6"]);
    const perNode = new Map<string, number>();
    for (const x of tasks) perNode.set(x.nodeId, (perNode.get(x.nodeId) ?? 0) + 1);
    expect([...perNode.values()]).toEqual([2, 2, 2]);
  });

  it("a task that fits nowhere stays pending with the reason, and is placed when a node joins", async () => {
    const res = await create({ name: "web" });
    expect(res.status).toBe(201);
    const [task] = await tasksOf("web");
    expect(task.status.state).toBe("pending");
    expect(task.status.message).toMatch(/^no suitable node/);
    await joinNode(t);
    const [placed] = await tasksOf("web");
    expect(placed.status.state).toBe("assigned");
  });

  it("update replaces the spec with the version; stale versions get 409; mode and name cannot change", async () => {
    await joinNode(t);
    await create({ name: "web", replicas: 2 });
    const spec = (await t.call("GET", "/v1/services/web", admin())).body.spec;
    const ok = await t.call("PUT", "/v1/services/web?version=1", { ...admin(), body: { ...spec, labels: { tier: "front" } } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ version: 2, spec: { labels: { tier: "front" } }, previousSpec: { labels: {} } });
    const stale = await t.call("PUT", "/v1/services/web?version=1", { ...admin(), body: spec });
    expect(stale.status).toBe(409);
    const mode = await t.call("PUT", "/v1/services/web?version=2", { ...admin(), body: { ...spec, mode: "global", replicas: undefined } });
    expect(mode.status).toBe(400);
    expect(mode.body.errors[0].path).toBe("body.mode");
    const rename = await t.call("PUT", "/v1/services/web?version=2", { ...admin(), body: { ...spec, name: "www" } });
    expect(rename.status).toBe(400);
    expect(rename.body.errors[0].path).toBe("body.name");
  });

  it("bumping forceUpdate redeploys every task with the spec otherwise unchanged (update --force)", async () => {
    await joinNode(t);
    await create({ name: "web", replicas: 3, update: { parallelism: 0 } });
    const before = (await tasksOf("web")).filter((x) => x.desiredState === "running").map((x) => x.id);
    const spec = (await t.call("GET", "/v1/services/web", admin())).body.spec;
    const res = await t.call("PUT", "/v1/services/web?version=1", { ...admin(), body: { ...spec, task: { ...spec.task, forceUpdate: 1 } } });
    expect(res.status).toBe(200);
    const after = (await tasksOf("web")).filter((x) => x.desiredState === "running").map((x) => x.id);
    expect(after).toHaveLength(3);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
  });

  it("an update of the task spec shows `updating` in inspect; rollback returns to the previous spec", async () => {
    await joinNode(t);
    await create({ name: "web", replicas: 2 });
    const noPrevious = await t.call("POST", "/v1/services/web/rollback", admin());
    expect(noPrevious.status).toBe(409);
    expect(noPrevious.body.detail).toBe("service web has no previous spec to roll back to");
    const spec = (await t.call("GET", "/v1/services/web", admin())).body.spec;
    const v2 = { ...spec, task: { ...spec.task, container: { ...spec.task.container, image: "busybox:2" } } };
    const updated = await t.call("PUT", "/v1/services/web?version=1", { ...admin(), body: v2 });
    expect(updated.body.updateStatus).toEqual({ state: "updating", message: "update in progress", startedAt: expect.any(String) });
    const stale = await t.call("POST", "/v1/services/web/rollback?version=1", admin());
    expect(stale.status).toBe(409);
    const rolled = await t.call("POST", "/v1/services/web/rollback?version=2", admin());
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({
      version: 3,
      spec: { task: { container: { image: "busybox:1" } } },
      previousSpec: { task: { container: { image: "busybox:2" } } },
      updateStatus: { state: "rollback_started", message: "manually requested rollback" },
    });
    const up = (await tasksOf("web")).filter((x) => x.desiredState === "running");
    expect(up.map((x) => x.image)).toContain("busybox:1");
    const events = await t.client.execute("SELECT action FROM events WHERE type = 'service' ORDER BY id");
    expect(events.rows.map((r) => r.action)).toEqual(["create", "update", "rollback"]);
    const badVersion = await t.call("POST", "/v1/services/web/rollback?version=zero", admin());
    expect(badVersion.status).toBe(400);
  });

  it("rebalance is for replicated services only", async () => {
    const res = await create({ name: "agents", mode: "global", rebalance: true });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: "body.rebalance", message: "rebalance only applies to replicated mode" }]);
  });

  it("scales one or several services at once, and refuses global ones", async () => {
    await joinNode(t);
    await create({ name: "a" });
    await create({ name: "b" });
    await create({ name: "g", mode: "global" });
    const res = await t.call("POST", "/v1/services/scale", { ...admin(), body: { services: { a: 3, b: 0 } } });
    expect(res.status).toBe(200);
    expect((await tasksOf("a")).filter((x) => x.desiredState === "running")).toHaveLength(3);
    expect((await tasksOf("b")).filter((x) => x.desiredState === "running")).toHaveLength(0);
    const bad = await t.call("POST", "/v1/services/scale", { ...admin(), body: { services: { a: 1, g: 2 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("body.services.g");
    expect((await tasksOf("a")).filter((x) => x.desiredState === "running")).toHaveLength(3);
  });

  it("global services get a task on every node, including ones that join later", async () => {
    await joinNode(t);
    await create({ name: "mon", mode: "global" });
    await joinNode(t);
    const tasks = await tasksOf("mon");
    expect(tasks).toHaveLength(2);
    expect(new Set(tasks.map((x) => x.nodeId)).size).toBe(2);
    expect(tasks[0].name).toMatch(/^mon\.node_/);
  });

  it("draining a node moves its tasks", async () => {
    const a = await joinNode(t);
    await joinNode(t);
    await create({ name: "web", replicas: 4 });
    const node = (await t.call("GET", `/v1/nodes/${a.id}`, admin())).body;
    await t.call("PATCH", `/v1/nodes/${a.id}?version=${node.version}`, { ...admin(), body: { availability: "drain" } });
    const up = (await tasksOf("web")).filter((x) => x.desiredState === "running");
    expect(up).toHaveLength(4);
    expect(up.every((x) => x.nodeId !== a.id)).toBe(true);
  });

  it("remove deletes the service and its unstarted tasks", async () => {
    await joinNode(t);
    await create({ name: "web", replicas: 2 });
    expect((await t.call("DELETE", "/v1/services/web", admin())).status).toBe(204);
    expect((await t.call("GET", "/v1/services/web", admin())).status).toBe(404);
    const remaining = await tasksOf("web");
    expect(remaining.every((x) => x.desiredState === "remove")).toBe(true);
  });

  it("refuses a taken name, a published port in use, and assigns ingress ports from 30000", async () => {
    await create({ name: "web", endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }, { targetPort: 443 }] } });
    const dup = await create({ name: "web" });
    expect(dup.status).toBe(409);
    const port = await create({ name: "other", endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } });
    expect(port.status).toBe(409);
    expect(port.body.errors[0].path).toBe("body.endpoint.ports.0.publishedPort");
    const web = (await t.call("GET", "/v1/services/web", admin())).body;
    expect(web.spec.endpoint.ports[1].publishedPort).toBe(30000);
  });

  it("lists with filters and records events", async () => {
    await create({ name: "web", labels: { tier: "front" } });
    await create({ name: "worker" });
    const byLabel = await t.call("GET", "/v1/services?label=tier=front", admin());
    expect(byLabel.body.map((s: any) => s.spec.name)).toEqual(["web"]);
    const byName = await t.call("GET", "/v1/services?name=wor", admin());
    expect(byName.body.map((s: any) => s.spec.name)).toEqual(["worker"]);
    const events = (await t.client.execute("SELECT type, action FROM events WHERE type IN ('service','task') ORDER BY id")).rows.map((r) => `${r.type}:${r.action}`);
    expect(events).toEqual(["service:create", "task:create", "service:create", "task:create"]);
  });

  it("a request that changed nothing does no reconcile work", async () => {
    await joinNode(t);
    await create({ name: "web", replicas: 3 });
    const state = async () => ({
      generation: (await t.client.execute("SELECT generation FROM cluster")).rows[0]!.generation,
      marks: (await t.client.execute("SELECT count(*) AS n FROM reconcile_marks")).rows[0]!.n,
    });
    const before = await state();
    expect(before.marks).toBe(0);
    await t.call("GET", "/v1/services", admin());
    expect(await state()).toEqual(before);
  });
});

/** The service's tasks as stored: where each is and what it is to do. */
async function storedTasks(service: string) {
  const { rows } = await t.client.execute({
    sql: "SELECT t.node_id AS nodeId, t.desired_state AS desiredState, t.state AS state FROM tasks t JOIN services s ON s.id = t.service_id WHERE s.name = ?",
    args: [service],
  });
  return rows.map((r) => ({ nodeId: r.nodeId as string | null, desiredState: r.desiredState as string, state: r.state as string }));
}

// The store is read directly after the change, with no other request (which would run the pipeline step again).
describe("node changes take effect in their own request", () => {
  it("draining a node shuts its tasks down and replaces them elsewhere in the drain's own request", async () => {
    const a = await joinNode(t);
    const b = await joinNode(t);
    await create({ name: "web", replicas: 4 });
    const node = (await t.call("GET", `/v1/nodes/${a.id}`, admin())).body;
    const res = await t.call("PATCH", `/v1/nodes/${a.id}?version=${node.version}`, { ...admin(), body: { availability: "drain" } });
    expect(res.status).toBe(200);
    const tasks = await storedTasks("web");
    expect(tasks.filter((x) => x.nodeId === a.id).every((x) => x.desiredState === "shutdown")).toBe(true);
    const up = tasks.filter((x) => x.desiredState === "running");
    expect(up).toHaveLength(4);
    expect(up.every((x) => x.nodeId === b.id && x.state === "assigned")).toBe(true);
  });

  it("removing a node replaces its tasks on the others in the removal's own request", async () => {
    const a = await joinNode(t);
    const b = await joinNode(t);
    await create({ name: "web", replicas: 4 });
    expect((await t.call("DELETE", `/v1/nodes/${a.id}?force=true`, admin())).status).toBe(204);
    const up = (await storedTasks("web")).filter((x) => x.desiredState === "running");
    expect(up).toHaveLength(4);
    expect(up.every((x) => x.nodeId === b.id && x.state === "assigned")).toBe(true);
  });

  it("a node that joins gets the pending task in the join's own request", async () => {
    await create({ name: "web" });
    expect(await storedTasks("web")).toEqual([{ nodeId: null, desiredState: "running", state: "pending" }]);
    const a = await joinNode(t);
    expect(await storedTasks("web")).toEqual([{ nodeId: a.id, desiredState: "running", state: "assigned" }]);
  });
});
