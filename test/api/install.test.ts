import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { sha256Hex } from "../../src/auth/sha256.js";
import { createTestApp, testAgentBundle, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

describe("GET /install.sh and /v1/agent/bundle", () => {
  it("serve the installer, with the served bundle's SHA-256 and this control plane's URL, to anyone", async () => {
    const script = await t.call("GET", "/install.sh");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(script.text).toContain(`\n  bundle_sha256=${await sha256Hex(testAgentBundle)}\n`);
    expect(script.text).toContain("\n  url='http://localhost'\n");
    const bundle = await t.call("GET", "/v1/agent/bundle");
    expect(bundle.status).toBe(200);
    expect(bundle.text).toBe(testAgentBundle);
    expect(bundle.headers.get("etag")).toBe(`"${await sha256Hex(testAgentBundle)}"`);
  });

  it("use the configured public URL when there is one (a proxy in front)", async () => {
    const app = createApp({ ...t.deps, publicUrl: "https://shoal.example/" });
    const text = await (await app.request("/install.sh")).text();
    expect(text).toContain("\n  url='https://shoal.example'\n");
    expect(text).toContain("curl -fsSL https://shoal.example/install.sh | sudo sh -s -- --token TOKEN");
  });

  it("answer 404 where the deployment has no bundle", async () => {
    const app = createApp({ ...t.deps, agentBundle: async () => undefined });
    for (const path of ["/install.sh", "/v1/agent/bundle"]) {
      const res = await app.request(path);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as { detail: string }).detail).toMatch(/no agent bundle/);
    }
  });
});
