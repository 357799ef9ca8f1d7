import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppDeps } from "../../src/http/context.js";
import { uiRoutes } from "../../src/api/routes/ui.js";
import { createApp } from "../../src/app.js";
import { cachedBundle } from "../../src/install/agent-bundle.js";
import { bundleUi } from "../../src/ui/build.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

describe("the web view's page and script", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("serves the page at / without a token, loading only its own script", async () => {
    const res = await t.call("GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.text).toContain('<script type="module" src="/ui/app.js"></script>');
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("content-security-policy")).toContain("connect-src 'self'");
  });

  it("answers 404 in the one error shape where the deployment has no bundle", async () => {
    const app = createApp({ ...t.deps, uiBundle: undefined });
    const res = await app.request("/ui/app.js");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ code: "not_found", detail: expect.stringContaining("no web view bundle") });
  });

  it("serves the built bundle with its hash as the ETag, and 304 when the browser has it", async () => {
    const app = uiRoutes({ uiBundle: cachedBundle(bundleUi) } as AppDeps);
    const res = await app.request("/ui/app.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const text = await res.text();
    // preact and the stylesheet are inside; nothing is fetched from elsewhere.
    expect(text).toContain(".board {");
    expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await app.request("/ui/app.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });
});
