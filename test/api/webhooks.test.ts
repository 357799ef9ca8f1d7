import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runDeliveryPass, type DelivererDeps } from "../../src/webhooks/deliver.js";
import { nodeSender } from "../../src/webhooks/node-sender.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";
import { startReceiver, verifyStandardWebhook, type Received } from "../helpers/webhook-receiver.js";

let t: TestApp;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
beforeEach(async () => {
  t = await createTestApp();
  receiver.received.length = 0;
});
afterEach(() => t.close());

const admin = () => ({ token: t.tokens.admin });
const subscribe = (body: Record<string, unknown>) => t.call("POST", "/v1/webhooks", { ...admin(), body });
const deliverer = (): DelivererDeps => ({ ...t.deps, sender: nodeSender, settings: { retryDelaysMs: [1000, 2000], timeoutMs: 2000 } });
/** The test clock is the deliverer's: timestamps are checked against it. */
const verify = (secret: string, r: Received) => verifyStandardWebhook(secret, r.headers, r.body, t.clock.now() / 1000);
const deliveries = async (id: string) => (await t.call("GET", `/v1/webhooks/${id}/deliveries`, admin())).body as any[];

describe("webhook subscriptions API", () => {
  it("creates with a generated secret shown once and stored sealed; lists, inspects, updates with the version, deletes", async () => {
    const res = await subscribe({ url: "https://hooks.example.com/shoal", events: ["task.failed", "node.*"] });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ version: 1, name: "hooks.example.com", events: ["task.failed", "node.*"], allowPrivate: false, state: "active" });
    expect(res.body.secret).toMatch(/^whsec_/);
    const { id, secret } = res.body;
    const stored = (await t.client.execute("SELECT * FROM webhooks")).rows[0]!;
    expect(JSON.stringify(stored)).not.toContain(secret.slice(6));

    expect((await t.call("GET", "/v1/webhooks", admin())).body.map((w: { id: string }) => w.id)).toEqual([id]);
    const inspected = await t.call("GET", `/v1/webhooks/${id}`, admin());
    expect(inspected.body).not.toHaveProperty("secret");

    const patched = await t.call("PATCH", `/v1/webhooks/${id}?version=1`, { ...admin(), body: { events: [], enabled: false } });
    expect(patched.body).toMatchObject({ version: 2, events: [], state: "disabled", disabledReason: "disabled by an admin" });
    expect((await t.call("PATCH", `/v1/webhooks/${id}?version=1`, { ...admin(), body: { enabled: true } })).status).toBe(409);
    expect((await t.call("PATCH", `/v1/webhooks/${id}?version=2`, { ...admin(), body: { enabled: true } })).body).toMatchObject({ state: "active", disabledReason: "" });

    expect((await t.call("DELETE", `/v1/webhooks/${id}`, admin())).status).toBe(204);
    expect((await t.call("DELETE", `/v1/webhooks/${id}`, admin())).status).toBe(404);
    expect((await t.call("GET", `/v1/webhooks/${id}/deliveries`, admin())).status).toBe(404);
  });

  it("refuses private literal targets unless allowPrivate, bad secrets and bad patterns, naming the field", async () => {
    for (const [body, path, message] of [
      [{ url: "http://10.0.0.5/hook" }, "body.url", /10\.0\.0\.5 is a private address; set allowPrivate/],
      [{ url: "http://[::1]:9/hook" }, "body.url", /loopback/],
      [{ url: "http://169.254.169.254/latest/meta-data" }, "body.url", /link-local/],
      [{ url: "file:///etc/passwd" }, "body.url", /scheme/],
      [{ url: "https://example.com", secret: "hunter2" }, "body.secret", /whsec_/],
      [{ url: "https://example.com", events: ["task failed"] }, "body.events.0", /event name/],
      [{ url: "https://example.com", allowPrivate: "yes" }, "body.allowPrivate", /boolean/],
    ] as const) {
      const res = await subscribe(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0].path).toBe(path);
      expect(res.body.errors[0].message).toMatch(message);
    }
    const allowed = await subscribe({ url: "http://10.0.0.5/hook", allowPrivate: true });
    expect(allowed.status).toBe(201);
    const res = await t.call("PATCH", `/v1/webhooks/${allowed.body.id}?version=1`, { ...admin(), body: { allowPrivate: false } });
    expect(res.status).toBe(400);
    expect(await t.client.execute("SELECT count(*) AS n FROM webhooks WHERE allow_private = 1")).toMatchObject({ rows: [{ n: 1 }] });
  });
});

describe("webhook delivery (in process, real HTTP)", () => {
  it("delivers signed events it subscribed to, from its creation on, once each even with concurrent deliverers", async () => {
    await joinNode(t);
    const all = await subscribe({ url: receiver.url("/all"), allowPrivate: true });
    const nodes = await subscribe({ url: receiver.url("/nodes"), allowPrivate: true, events: ["node.*"] });
    await joinNode(t, { hostname: "late" });
    await t.call("POST", "/v1/services", { ...admin(), body: { name: "web", task: { container: { image: "busybox:1" } } } });

    await Promise.all([runDeliveryPass(deliverer()), runDeliveryPass(deliverer()), runDeliveryPass(deliverer())]);

    const types = (path: string) => receiver.at(path).map((r) => JSON.parse(r.body).type);
    expect(types("/all").sort()).toEqual(["node.join", "node.ready", "service.create", "task.create"]);
    expect(types("/nodes")).toEqual(["node.join", "node.ready"]);
    for (const r of receiver.at("/all")) expect(verify(all.body.secret, r)).toBe(true);
    for (const r of receiver.at("/nodes")) {
      expect(verify(nodes.body.secret, r)).toBe(true);
      expect(verify(all.body.secret, r)).toBe(false);
    }
    const log = await deliveries(all.body.id);
    expect(log.map((d) => [d.event, d.state, d.attempts, d.lastStatus])).toEqual([
      ["task.create", "succeeded", 1, 200],
      ["service.create", "succeeded", 1, 200],
      ["node.ready", "succeeded", 1, 200],
      ["node.join", "succeeded", 1, 200],
    ]);
    expect(new Set(receiver.at("/all").map((r) => r.headers["webhook-id"]))).toEqual(new Set(log.map((d) => d.id)));
  });

  it("retries a failing endpoint on the schedule with the same webhook-id, gives up when it runs out, and stops at 410", async () => {
    receiver.respond("/flaky", [500, 503]);
    receiver.respond("/down", [500, 500, 500, 500]);
    receiver.respond("/gone", [410]);
    const flaky = await subscribe({ url: receiver.url("/flaky"), allowPrivate: true, events: ["node.join"] });
    const down = await subscribe({ url: receiver.url("/down"), allowPrivate: true, events: ["node.join"] });
    const gone = await subscribe({ url: receiver.url("/gone"), allowPrivate: true, events: ["node.join"] });
    await joinNode(t);

    expect(await runDeliveryPass(deliverer())).toBeGreaterThan(t.clock.now());
    t.clock.advance(500);
    await runDeliveryPass(deliverer());
    expect(receiver.at("/flaky")).toHaveLength(1); // not due yet
    t.clock.advance(1000);
    await runDeliveryPass(deliverer());
    t.clock.advance(2500);
    expect(await runDeliveryPass(deliverer())).toBeNull();

    expect(receiver.at("/flaky").map((r) => r.status)).toEqual([500, 503, 200]);
    expect(new Set(receiver.at("/flaky").map((r) => r.headers["webhook-id"])).size).toBe(1);
    for (const r of receiver.at("/flaky")) expect(verify(flaky.body.secret, r)).toBe(true);
    expect((await deliveries(flaky.body.id))[0]).toMatchObject({ state: "succeeded", attempts: 3, lastStatus: 200, nextAttemptAt: null });
    expect(receiver.at("/down")).toHaveLength(3);
    expect((await deliveries(down.body.id))[0]).toMatchObject({ state: "failed", attempts: 3, lastStatus: 500 });

    expect(receiver.at("/gone")).toHaveLength(1);
    expect((await t.call("GET", `/v1/webhooks/${gone.body.id}`, admin())).body).toMatchObject({ state: "disabled", disabledReason: "the endpoint answered 410 Gone", version: 2 });
    await joinNode(t);
    await runDeliveryPass(deliverer());
    expect(receiver.at("/gone")).toHaveLength(1);
  });

  it("a disabled subscription's pending deliveries do not keep the deliverer waking", async () => {
    receiver.respond("/paused", [500]);
    const sub = await subscribe({ url: receiver.url("/paused"), allowPrivate: true, events: ["node.join"] });
    await joinNode(t);
    expect(await runDeliveryPass(deliverer())).toBeGreaterThan(t.clock.now());
    const patched = await t.call("PATCH", `/v1/webhooks/${sub.body.id}?version=1`, { ...admin(), body: { enabled: false } });
    expect(patched.status).toBe(200);
    t.clock.advance(60_000);
    expect(await runDeliveryPass(deliverer())).toBeNull();
    expect((await deliveries(sub.body.id))[0]).toMatchObject({ state: "pending", attempts: 1 });
  });

  it("sends nothing to a name that resolves to loopback unless allowed, and says why in the log", async () => {
    const hook = await subscribe({ url: `http://localhost:${receiver.port}/local`, events: ["node.join"] });
    expect(hook.status).toBe(201);
    await joinNode(t);
    await runDeliveryPass(deliverer());
    expect(receiver.at("/local")).toEqual([]);
    expect((await deliveries(hook.body.id))[0]).toMatchObject({ state: "pending", attempts: 1, lastStatus: null });
    expect((await deliveries(hook.body.id))[0].lastError).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
  });

  it("lists the delivery log by state", async () => {
    receiver.respond("/log", [500]);
    const hook = await subscribe({ url: receiver.url("/log"), allowPrivate: true });
    await joinNode(t);
    await runDeliveryPass(deliverer());
    const pending = await t.call("GET", `/v1/webhooks/${hook.body.id}/deliveries?state=pending`, admin());
    const succeeded = await t.call("GET", `/v1/webhooks/${hook.body.id}/deliveries?state=succeeded&limit=1`, admin());
    expect(pending.body.map((d: { event: string }) => d.event)).toEqual(["node.join"]);
    expect(succeeded.body.map((d: { event: string }) => d.event)).toEqual(["node.ready"]);
    expect((await t.call("GET", `/v1/webhooks/${hook.body.id}/deliveries?state=lost`, admin())).status).toBe(400);
  });
});
