import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/auth/sha256.js";
import { hookCallsPerWindow, hookWindowMs } from "../../src/api/routes/hooks.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
  await joinNode(t);
  await t.call("POST", "/v1/services", {
    token: t.tokens.admin,
    body: { name: "web", replicas: 2, update: { parallelism: 0 }, task: { container: { image: "registry.example:5000/acme/web:1@sha256:" + "a".repeat(64) } } },
  });
});
afterEach(() => t.close());

const admin = () => ({ token: t.tokens.admin });
const createHook = async (service = "web") => {
  const res = await t.call("POST", `/v1/services/${service}/hooks`, { ...admin(), body: { name: "registry" } });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; token: string; url: string };
};
const trigger = (token: string, opts: { body?: unknown; query?: string; headers?: Record<string, string> } = {}) =>
  t.call("POST", `/v1/hooks/${token}${opts.query ?? ""}`, { body: opts.body, headers: opts.headers });
const service = async () => (await t.call("GET", "/v1/services/web", admin())).body;
const runningTasks = async () => ((await t.call("GET", "/v1/tasks?service=web&desired-state=running", admin())).body as any[]).map((x) => x.id).sort();
const hookEvents = async () =>
  (await t.client.execute("SELECT actor_id, attributes FROM events WHERE action = 'webhook.triggered' ORDER BY id")).rows.map((r) => ({
    actor: r.actor_id,
    ...JSON.parse(String(r.attributes)),
  }));

describe("webhook triggers: create, list, delete", () => {
  it("answers the token once, stores only its hash, lists without it", async () => {
    const hook = await createHook();
    expect(hook.token).toMatch(/^shk_[A-Za-z0-9_-]{43}$/);
    expect(hook.url).toBe(`http://localhost/v1/hooks/${hook.token}`);
    const stored = (await t.client.execute("SELECT * FROM service_hooks")).rows[0]!;
    expect(stored.token_hash).toBe(await sha256Hex(hook.token));
    expect(JSON.stringify(stored)).not.toContain(hook.token.slice(4));
    const list = await t.call("GET", "/v1/services/web/hooks", admin());
    expect(list.body).toEqual([{ id: hook.id, serviceId: (await service()).id, name: "registry", action: "redeploy", createdAt: expect.any(String) }]);
    expect(list.text).not.toContain(hook.token);
  });

  it("tokens are unguessable: every one differs", async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) tokens.add((await createHook()).token);
    expect(tokens.size).toBe(20);
  });

  it("delete stops the token at once; removing the service removes its hooks", async () => {
    const hook = await createHook();
    expect((await t.call("DELETE", `/v1/services/web/hooks/${hook.id}`, admin())).status).toBe(204);
    expect((await t.call("DELETE", `/v1/services/web/hooks/${hook.id}`, admin())).status).toBe(404);
    expect((await trigger(hook.token)).status).toBe(404);
    const other = await createHook();
    expect((await t.call("DELETE", "/v1/services/web", admin())).status).toBe(204);
    expect((await t.client.execute("SELECT count(*) AS n FROM service_hooks")).rows[0]!.n).toBe(0);
    expect((await trigger(other.token)).status).toBe(404);
  });

  it("a hook of one service cannot be deleted through another", async () => {
    await t.call("POST", "/v1/services", { ...admin(), body: { name: "api", task: { container: { image: "busybox:1" } } } });
    const hook = await createHook("web");
    expect((await t.call("DELETE", `/v1/services/api/hooks/${hook.id}`, admin())).status).toBe(404);
    expect((await t.call("GET", "/v1/services/web/hooks", admin())).body).toHaveLength(1);
  });
});

describe("POST /v1/hooks/{token}", () => {
  it("with no body redeploys: forceUpdate bumped, every task replaced, the trigger recorded", async () => {
    const hook = await createHook();
    const before = await service();
    const tasksBefore = await runningTasks();
    const res = await trigger(hook.token);
    expect(res.status, res.text).toBe(202);
    expect(res.body).toEqual({ hookId: hook.id, serviceId: before.id, source: "plain", image: before.spec.task.container.image, version: 2 });
    const after = await service();
    expect(after.spec.task.forceUpdate).toBe(before.spec.task.forceUpdate + 1);
    const tasksAfter = await runningTasks();
    expect(tasksAfter).toHaveLength(2);
    expect(tasksAfter.filter((id) => tasksBefore.includes(id))).toEqual([]);
    expect(await hookEvents()).toEqual([{ actor: before.id, name: "web", hook: hook.id, source: "plain", image: before.spec.task.container.image }]);
    const [listed] = (await t.call("GET", "/v1/services/web/hooks", admin())).body;
    expect(listed.lastTriggeredAt).toBe(new Date(t.clock.now()).toISOString());
  });

  it.each([
    ["a plain body", { body: { tag: "2" } }, "plain"],
    ["the query", { query: "?tag=2" }, "plain"],
    ["both, agreeing", { body: { tag: "2" }, query: "?tag=2" }, "plain"],
    [
      "Docker Hub's push payload",
      { body: { callback_url: "https://registry.hub.docker.com/u/acme/web/hook/x/", push_data: { pushed_at: 1, pusher: "ci", tag: "2" }, repository: { repo_name: "acme/web", name: "web", namespace: "acme" } } },
      "dockerhub",
    ],
    [
      "a GitHub package event",
      {
        headers: { "x-github-event": "package" },
        body: { action: "published", package: { name: "web", namespace: "acme", package_type: "CONTAINER", package_version: { version: "sha256:1", container_metadata: { tag: { name: "2", digest: "sha256:1" } } } } },
      },
      "github",
    ],
    [
      "a GitHub registry_package event",
      { body: { action: "published", registry_package: { name: "web", owner: { login: "Acme" }, package_type: "container", package_version: { container_metadata: { tag: { name: "2" } } } } } },
      "github",
    ],
  ] as const)("takes the tag from %s and sets it on the image (digest dropped)", async (_what, opts, source) => {
    const hook = await createHook();
    const res = await trigger(hook.token, opts);
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ source, tag: "2", image: "registry.example:5000/acme/web:2" });
    expect((await service()).spec.task.container.image).toBe("registry.example:5000/acme/web:2");
    expect(await hookEvents()).toEqual([expect.objectContaining({ source, tag: "2", image: "registry.example:5000/acme/web:2" })]);
  });

  it.each([
    ["a GitHub ping", { headers: { "x-github-event": "ping" }, body: { zen: "Keep it logically awesome.", hook_id: 1 } }, /ping/],
    ["an untagged GitHub version", { body: { action: "published", package: { name: "web", namespace: "acme", package_type: "container", package_version: { container_metadata: { tag: { name: "" } } } } } }, /untagged/],
    ["a GitHub update", { body: { action: "updated", package: { name: "web", namespace: "acme" } } }, /updated/],
    ["an npm package", { body: { action: "published", package: { name: "web", namespace: "acme", package_type: "npm" } } }, /npm/],
  ] as const)("answers 200 and changes nothing for %s", async (_what, opts, reason) => {
    const hook = await createHook();
    const tasksBefore = await runningTasks();
    const res = await trigger(hook.token, opts);
    expect(res.status, res.text).toBe(200);
    expect(res.body.ignored).toMatch(reason);
    expect((await service()).version).toBe(1);
    expect(await runningTasks()).toEqual(tasksBefore);
    expect(await hookEvents()).toEqual([]);
  });

  it.each([
    ["a wrong token", (token: string) => trigger(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`), 404, "not_found"],
    ["a bearer token instead", () => t.call("POST", `/v1/hooks/${t.tokens.admin}`, admin()), 404, "not_found"],
    ["a bad tag", (token: string) => trigger(token, { body: { tag: "-x" } }), 400, "validation_failed"],
    ["a bad query tag", (token: string) => trigger(token, { query: "?tag=a%20b" }), 400, "validation_failed"],
    ["tags that disagree", (token: string) => trigger(token, { body: { tag: "2" }, query: "?tag=3" }), 400, "validation_failed"],
    ["an unknown field", (token: string) => trigger(token, { body: { tga: "2" } }), 400, "validation_failed"],
    ["an array", (token: string) => trigger(token, { body: ["2"] }), 400, "validation_failed"],
    ["another repository", (token: string) => trigger(token, { body: { push_data: { tag: "2" }, repository: { repo_name: "acme/other" } } }), 400, "validation_failed"],
    ["Docker Hub without a tag", (token: string) => trigger(token, { body: { push_data: {}, repository: { repo_name: "acme/web" } } }), 400, "validation_failed"],
    ["an empty JSON body", (token: string) => trigger(token, { body: "", headers: { "content-type": "application/json" } }), 400, "malformed_json"],
    ["a form body", (token: string) => trigger(token, { body: "tag=2", headers: { "content-type": "application/x-www-form-urlencoded" } }), 415, "unsupported_media_type"],
  ] as const)("refuses %s; nothing changes", async (_what, call, status, code) => {
    const hook = await createHook();
    const tasksBefore = await runningTasks();
    const res = await call(hook.token);
    expect(res.status, res.text).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe(code);
    expect((await service()).version).toBe(1);
    expect(await runningTasks()).toEqual(tasksBefore);
    expect(await hookEvents()).toEqual([]);
  });

  it(`allows ${hookCallsPerWindow} calls per token per window, then 429 until the window passes`, async () => {
    const hook = await createHook();
    const other = await createHook();
    for (let i = 0; i < hookCallsPerWindow; i++) expect((await trigger(hook.token)).status).toBe(202);
    const limited = await trigger(hook.token);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("too_many_requests");
    expect((await trigger(other.token)).status).toBe(202); // per token
    t.clock.advance(hookWindowMs);
    expect((await trigger(hook.token)).status).toBe(202);
    expect(await hookEvents()).toHaveLength(hookCallsPerWindow + 2);
  });

  it("is scoped to its service: other services are untouched", async () => {
    await t.call("POST", "/v1/services", { ...admin(), body: { name: "api", task: { container: { image: "busybox:1" } } } });
    const hook = await createHook("web");
    expect((await trigger(hook.token, { body: { tag: "2" } })).status).toBe(202);
    const api = (await t.call("GET", "/v1/services/api", admin())).body;
    expect(api).toMatchObject({ version: 1, spec: { task: { forceUpdate: 0, container: { image: "busybox:1" } } } });
  });
});
