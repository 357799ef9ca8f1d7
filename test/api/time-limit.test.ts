import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

/**
 * The time-limit middleware (both runtimes): a handler that never answers gets a 503 in the one
 * error shape after the limit, Docker paths in Docker's; the assignment long-poll waits past it.
 */
describe("request time limit", () => {
  let t: TestApp;
  let app: ReturnType<typeof createApp>;
  const limitMs = 200;
  beforeAll(async () => {
    t = await createTestApp();
    // The agent bundle never arrives: GET /install.sh is stuck for good.
    app = createApp({ ...t.deps, requestTimeoutMs: limitMs, agentBundle: () => new Promise(() => {}) });
  });
  afterAll(() => t.close());

  it("answers a stuck handler 503 after the limit, and goes on serving", async () => {
    const started = performance.now();
    const res = await app.request("/install.sh");
    expect(performance.now() - started).toBeGreaterThanOrEqual(limitMs - 5);
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem: any = await res.json();
    expect(problem).toMatchObject({ status: 503, code: "unavailable", type: "urn:shoal:problem:unavailable" });
    expect(problem.detail).toMatch(/not answered within 0\.[2-9] s .*read the state before retrying/);
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("lets the assignment long-poll wait its own bound past the limit", async () => {
    const node = await joinNode(t);
    const headers = { authorization: `Bearer ${node.credential}` };
    const first: any = await (await app.request("/v1/agent/assignments?waitMs=0", { headers })).json();
    const started = performance.now();
    const res = await app.request(`/v1/agent/assignments?since=${first.generation}&waitMs=600`, { headers });
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
  });
});
