import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { schema } from "../../src/db/client.js";
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

describe("network documents", () => {
  const overlay = { underlayMtu: 1500, capabilities: { vxlan: true, nftables: true, conntrack: true, wireguard: "none" } };
  const poll = (credential: string, query: string) => t.call("GET", `/v1/agent/assignments?${query}`, { token: credential });

  it("hands each overlay node its networks and each task its addresses, and wakes members when an endpoint starts running", async () => {
    const a = await joinNode(t, { overlay });
    const b = await joinNode(t, { overlay });
    const plain = await joinNode(t);
    await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "app", subnet: "10.0.9.0/24" } });
    const created = await createService({
      name: "web",
      replicas: 2,
      task: { container: { image: "busybox:1" }, networks: [{ target: "app", aliases: ["www"] }], placement: { constraints: [`node.id!=${plain.id}`] } },
      endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] },
    });
    expect(created.status).toBe(201);
    const service = (await t.call("GET", "/v1/services/web", { token: t.tokens.read })).body;
    expect(service.endpoint.virtualIps.map((v: any) => v.addr).sort()).toEqual([expect.stringMatching(/^10\.0\.0\.\d+\/24$/), expect.stringMatching(/^10\.0\.9\.\d+\/24$/)]);

    const first = await poll(a.credential, "since=-1");
    const [task] = first.body.tasks;
    expect(task.attachments.map((x: any) => x.ip)).toEqual([expect.stringMatching(/^10\.0\.9\./), expect.stringMatching(/^10\.0\.0\./)]);
    expect(task.attachments[0].aliases).toEqual(["www"]);
    const doc = first.body.network;
    expect(doc.networks.map((n: any) => n.name)).toEqual(["app", "ingress"]);
    const app = doc.networks[0];
    expect(app.peers.map((p: any) => p.nodeId)).toEqual([b.id]);
    expect(app.routes).toHaveLength(1);
    expect(app.services[0]).toMatchObject({ name: "web", aliases: ["www"], endpointMode: "vip", endpoints: [] });
    expect(doc.mesh).toEqual([expect.objectContaining({ publishedPort: 8080, targetPort: 80, targets: [] })]);

    // A node without overlays gets no document.
    expect((await poll(plain.credential, "since=-1")).body.network).toBeUndefined();

    // Holding the current document: no network in the answer, and the poll waits.
    const idle = await poll(a.credential, `since=${first.body.generation}&netSince=${doc.token}&waitMs=200`);
    expect(idle.body.network).toBeUndefined();
    // A stale token is answered at once.
    const stale = await poll(a.credential, `since=${first.body.generation}&netSince=old&waitMs=5000`);
    expect(stale.body.network.token).toBe(doc.token);

    // b's task starts running: a's long-poll wakes with the endpoint in its document.
    const waiting = poll(a.credential, `since=${idle.body.generation}&netSince=${doc.token}&waitMs=5000`);
    await new Promise((r) => setTimeout(r, 50));
    const bTask = (await poll(b.credential, "since=-1")).body.tasks[0];
    await t.call("POST", "/v1/agent/status", { token: b.credential, body: { updates: [{ taskId: bTask.id, state: "running" }] } });
    const woke = await waiting;
    const endpoints = woke.body.network.networks[0].services[0].endpoints;
    expect(endpoints).toEqual([{ taskId: bTask.id, nodeId: b.id, ip: bTask.attachments[0].ip, dnsName: `web.${bTask.slot}.${bTask.id}` }]);
    expect(woke.body.network.mesh[0].targets).toEqual([bTask.attachments[1].ip]);
  });

  it("keeps a task the agent already took in its answer while its addresses are missing", async () => {
    // Left out, the agent would remove its container as no longer assigned.
    const node = await joinNode(t, { overlay });
    await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "app" } });
    expect((await createService({ name: "web", task: { container: { image: "busybox:1" }, networks: [{ target: "app" }] } })).status).toBe(201);
    const [task] = (await poll(node.credential, "since=-1")).body.tasks;
    expect(task.attachments).toHaveLength(1);
    await t.db.delete(schema.ipAllocations).where(eq(schema.ipAllocations.owner, task.id));
    expect((await poll(node.credential, "since=-1")).body.tasks).toEqual([]);
    await t.call("POST", "/v1/agent/status", { token: node.credential, body: { updates: [{ taskId: task.id, state: "starting" }] } });
    await t.db.delete(schema.ipAllocations).where(eq(schema.ipAllocations.owner, task.id));
    expect((await poll(node.credential, "since=-1")).body.tasks.map((x: any) => [x.id, x.attachments])).toEqual([[task.id, []]]);
  });

  it("a task the network has no address left for waits, and says why", async () => {
    const node = await joinNode(t, { overlay });
    // 10.0.9.0/29: 5 usable addresses after the gateway; the node takes one and the VIP one.
    await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "tiny", subnet: "10.0.9.0/29" } });
    expect((await createService({ name: "web", replicas: 5, task: { container: { image: "busybox:1" }, networks: [{ target: "tiny" }] } })).status).toBe(201);
    expect((await poll(node.credential, "since=-1")).body.tasks).toHaveLength(3);
    const tasks = (await t.call("GET", "/v1/tasks?service=web", { token: t.tokens.read })).body as any[];
    expect(tasks.filter((x) => x.status.message === "no free address on network tiny (10.0.9.0/29): waiting for one to be released")).toHaveLength(2);
  });
});
