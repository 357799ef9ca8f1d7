import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dockerApi } from "../../src/api/docker/routes.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

describe("GET /v1/swarm", () => {
  it("shows the cluster and its settings with Swarm-like defaults", async () => {
    const res = await t.call("GET", "/v1/swarm", { token: t.tokens.read });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: t.keys.clusterId,
      version: 1,
      spec: { heartbeatPeriodMs: 2000, missedHeartbeats: 3, maxHeartbeatsPerSecond: 100, taskHistoryLimit: 5, defaultStrategy: "spread" },
      status: { nodeCount: 0, heartbeatPeriodMs: 2000, downAfterMs: 6000 },
    });
  });

  it("answers 401 in the problem shape without a token", async () => {
    const res = await t.call("GET", "/v1/swarm");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body).toMatchObject({ status: 401, code: "unauthorized", type: "urn:shoal:problem:unauthorized" });
  });
});

describe("PATCH /v1/swarm", () => {
  it("changes settings and bumps the version", async () => {
    const res = await t.call("PATCH", "/v1/swarm?version=1", {
      token: t.tokens.admin,
      body: { heartbeatPeriodMs: 5000, defaultStrategy: "binpack" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, spec: { heartbeatPeriodMs: 5000, defaultStrategy: "binpack", taskHistoryLimit: 5 } });
  });

  it("refuses a stale version with 409 and writes nothing", async () => {
    await t.call("PATCH", "/v1/swarm?version=1", { token: t.tokens.admin, body: { taskHistoryLimit: 2 } });
    const res = await t.call("PATCH", "/v1/swarm?version=1", { token: t.tokens.admin, body: { taskHistoryLimit: 9 } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("version_conflict");
    expect((await t.call("GET", "/v1/swarm", { token: t.tokens.read })).body.spec.taskHistoryLimit).toBe(2);
  });

  it.each([
    [{ heartbeatPeriodMs: 10 }, "body.heartbeatPeriodMs", /500/],
    [{ heartbeatPeriodMs: "5s" }, "body.heartbeatPeriodMs", /expected number/],
    [{ missedHeartbeats: 0 }, "body.missedHeartbeats", />=1/],
    [{ missedHeartbeats: 2.5 }, "body.missedHeartbeats", /int/],
    [{ taskHistoryLimit: -1 }, "body.taskHistoryLimit", />=0/],
    [{ maxHeartbeatsPerSecond: 0 }, "body.maxHeartbeatsPerSecond", />=1/],
    [{ defaultStrategy: "fastest" }, "body.defaultStrategy", /spread.*binpack.*random/],
    [{ replocas: 3 }, "body.replocas", /unknown field; allowed fields: heartbeatPeriodMs/],
    [{}, "body", /at least one/],
  ])("rejects %j naming %s", async (body, path, message) => {
    const res = await t.call("PATCH", "/v1/swarm?version=1", { token: t.tokens.admin, body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_failed");
    const error = res.body.errors.find((e: { path: string }) => e.path === path);
    expect(error, JSON.stringify(res.body.errors)).toBeDefined();
    expect(error.message).toMatch(message);
    expect((await t.call("GET", "/v1/swarm", { token: t.tokens.read })).body.version).toBe(1);
  });

  it("of concurrent updates from the same version exactly one wins", async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        t.call("PATCH", "/v1/swarm?version=1", { token: t.tokens.admin, body: { taskHistoryLimit: i } }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(11);
    const winner = results.find((r) => r.status === 200)!.body.spec.taskHistoryLimit;
    expect((await t.call("GET", "/v1/swarm", { token: t.tokens.read })).body).toMatchObject({ version: 2, spec: { taskHistoryLimit: winner } });
  });

  it("requires the version", async () => {
    const res = await t.call("PATCH", "/v1/swarm", { token: t.tokens.admin, body: { taskHistoryLimit: 2 } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("query.version");
  });
});

describe("join tokens", () => {
  it("shows both and rotates one without changing the other", async () => {
    const before = await t.call("GET", "/v1/swarm/join-tokens", { token: t.tokens.admin });
    expect(before.body).toEqual({ worker: t.tokens.joinWorker, manager: t.tokens.joinManager });
    const rotated = await t.call("POST", "/v1/swarm/join-tokens/worker/rotate", { token: t.tokens.admin });
    expect(rotated.status).toBe(200);
    expect(rotated.body.worker).not.toBe(before.body.worker);
    expect(rotated.body.manager).toBe(before.body.manager);
    expect((await t.call("GET", "/v1/swarm/join-tokens", { token: t.tokens.admin })).body).toEqual(rotated.body);
  });

  it("refuses an unknown role", async () => {
    const res = await t.call("POST", "/v1/swarm/join-tokens/admin/rotate", { token: t.tokens.admin });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("path.role");
  });
});

describe("meta", () => {
  it("serves an OpenAPI 3.1 document covering every route", async () => {
    const res = await t.call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    const documented = new Set(
      Object.entries(res.body.paths as Record<string, object>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
      ),
    );
    // The Docker Engine API's routes are Docker's, documented by Docker's own API reference.
    const dockerRoutes = new Set(dockerApi(t.deps).routes.map((r) => `${r.method} ${r.path}`));
    const served = t.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`).filter((r) => !dockerRoutes.has(r));
    expect(served.length).toBeGreaterThan(10);
    for (const route of served) expect(documented, route).toContain(route);
  });

  it("serves a human-readable reference page", async () => {
    const res = await t.call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(res.text).toContain("/v1/nodes/{id}");
  });

  it("answers 404 and 405 in the problem shape", async () => {
    expect((await t.call("GET", "/v1/nope")).body).toMatchObject({ status: 404, code: "not_found" });
    const res = await t.call("PUT", "/v1/swarm", { token: t.tokens.admin });
    expect(res.status).toBe(405);
    expect(res.body.detail).toMatch(/allowed: GET, PATCH/);
  });

  it("refuses malformed JSON, a non-JSON body and an oversized body", async () => {
    const bad = await t.call("PATCH", "/v1/swarm?version=1", { token: t.tokens.admin, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("malformed_json");
    const text = await t.call("PATCH", "/v1/swarm?version=1", {
      token: t.tokens.admin,
      body: "taskHistoryLimit=3",
      headers: { "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
    expect(text.body.code).toBe("unsupported_media_type");
    const big = await t.call("PATCH", "/v1/swarm?version=1", {
      token: t.tokens.admin,
      body: JSON.stringify({ taskHistoryLimit: 3, pad: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe("payload_too_large");
  });
});
