import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openRegistryAuth } from "../../src/auth/secret-box.js";
import { captureLogs, createTestApp, joinNode, type TestApp } from "../helpers/app.js";

/**
 * Registry credentials (--with-registry-auth): stored sealed with the service,
 * shown in no answer, event or log line, delivered only inside the assignment
 * of a task of that service that is about to pull.
 */

let t: TestApp;
let logged: string[];
beforeEach(async () => {
  t = await createTestApp();
  logged = captureLogs(t);
});
afterEach(() => t.close());

const password = "hunter2-registry-pw";
const creds = { username: "ci-bot", password, serveraddress: "registry.example:5000" };
const header = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const admin = (headers: Record<string, string> = {}) => ({ token: t.tokens.admin, headers });
const image = "registry.example:5000/acme/web:1";
const dockerSpec = (nodeId: string, name = "web") => ({
  Name: name,
  TaskTemplate: { ContainerSpec: { Image: image }, Placement: { Constraints: [`node.id==${nodeId}`] } },
  Mode: { Replicated: { Replicas: 1 } },
});
const poll = (credential: string) => t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: credential });
const dump = async () => {
  const out: unknown[] = [];
  for (const table of ["services", "service_registry_auths", "events", "tasks"]) out.push((await t.client.execute(`SELECT * FROM ${table} ORDER BY rowid`)).rows);
  return JSON.stringify(out);
};
const storedAuth = async (serviceId: string) => {
  const rows = (await t.client.execute({ sql: "SELECT sealed FROM service_registry_auths WHERE service_id = ?", args: [serviceId] })).rows;
  return rows.length ? openRegistryAuth(t.keys, serviceId, String(rows[0]!.sealed)) : undefined;
};
/** Every answer a user or a webhook could see of the service, and what was logged. */
async function everythingVisible(serviceId: string): Promise<string> {
  const short = serviceId.slice("svc_".length);
  const paths = [
    `/v1/services/${serviceId}`,
    "/v1/services",
    "/v1/tasks",
    "/v1/events",
    `/v1.41/services/${short}?insertDefaults=true`,
    "/v1.41/services?status=true",
    "/v1.41/tasks",
  ];
  const answers = await Promise.all(paths.map(async (p) => (await t.call("GET", p, admin())).text));
  const events = await t.call("GET", `/v1.41/events?since=0&until=${Math.floor(t.clock.now() / 1000) + 1}`, admin());
  return [...answers, events.text, ...logged].join("\n");
}

describe("Docker API: docker service create/update --with-registry-auth", () => {
  it("stores the credentials sealed, shows them nowhere, and gives them only to the assignment of a task of the service about to pull", async () => {
    const a = await joinNode(t);
    const b = await joinNode(t);
    const res = await t.call("POST", "/v1.41/services/create", { ...admin({ "x-registry-auth": header(creds) }), body: dockerSpec(a.id) });
    expect(res.status, res.text).toBe(201);
    const id = `svc_${res.body.ID}`;
    await t.call("POST", "/v1.41/services/create", { ...admin(), body: dockerSpec(b.id, "other") });

    // At rest: sealed, bound to the service; nothing of them in the service row.
    expect(await storedAuth(id)).toEqual(creds);
    const raw = await dump();
    expect(raw).not.toContain(password);
    expect(raw).not.toContain(header(creds));
    const visible = await everythingVisible(id);
    expect(visible).toContain(image);
    for (const secret of [password, "ci-bot", header(creds), Buffer.from(password).toString("base64")]) expect(visible).not.toContain(secret);

    const mine = await poll(a.credential);
    expect(mine.body.tasks).toEqual([expect.objectContaining({ serviceName: "web", registryAuth: creds })]);
    const theirs = await poll(b.credential);
    expect(theirs.body.tasks).toEqual([expect.objectContaining({ serviceName: "other" })]);
    expect(theirs.body.tasks[0]).not.toHaveProperty("registryAuth");
    expect(theirs.text).not.toContain(password);

    // Once the task runs, its node has pulled: later answers carry them no more.
    await t.call("POST", "/v1/agent/status", { token: a.credential, body: { updates: [{ taskId: mine.body.tasks[0].id, state: "running" }] } });
    const running = await poll(a.credential);
    expect(running.body.tasks).toEqual([expect.objectContaining({ state: "running" })]);
    expect(running.text).not.toContain(password);
  });

  it("an update without the header keeps them (registryAuthFrom=spec or previous-spec); with it replaces them; a header with no credential removes them", async () => {
    const a = await joinNode(t);
    const created = await t.call("POST", "/v1.41/services/create", { ...admin({ "x-registry-auth": header(creds) }), body: dockerSpec(a.id) });
    const id = `svc_${created.body.ID}`;
    const update = async (query: string, headers: Record<string, string>, replicas: number) => {
      const current = (await t.call("GET", `/v1.41/services/${created.body.ID}`, admin())).body;
      const body = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
      return t.call("POST", `/v1.41/services/${created.body.ID}/update?version=${current.Version.Index}${query}`, { ...admin(headers), body });
    };
    expect((await update("&registryAuthFrom=spec", {}, 2)).status).toBe(200);
    expect((await update("&registryAuthFrom=previous-spec", {}, 3)).status).toBe(200);
    expect((await update("", {}, 1)).status).toBe(200);
    expect(await storedAuth(id)).toEqual(creds);
    const rotated = { ...creds, password: "rotated-pw" };
    expect((await update("", { "x-registry-auth": header(rotated) }, 1)).status).toBe(200);
    expect(await storedAuth(id)).toEqual(rotated);
    const rollback = await t.call("POST", `/v1.41/services/${created.body.ID}/update?version=${(await t.call("GET", `/v1/services/${id}`, admin())).body.version}&rollback=previous`, {
      ...admin(),
      body: dockerSpec(a.id),
    });
    expect(rollback.status, rollback.text).toBe(200);
    expect(await storedAuth(id)).toEqual(rotated);
    expect((await update("", { "x-registry-auth": header({ serveraddress: "registry.example:5000" }) }, 1)).status).toBe(200);
    expect(await storedAuth(id)).toBeUndefined();
    expect((await poll(a.credential)).body.tasks.every((x: object) => !("registryAuth" in x))).toBe(true);
  });

  it("a bad header is a 400 naming X-Registry-Auth and what is wrong, with nothing written", async () => {
    const a = await joinNode(t);
    const existing = await t.call("POST", "/v1.41/services/create", { ...admin(), body: dockerSpec(a.id, "kept") });
    const before = await dump();
    const cases: [string, RegExp][] = [
      ["%%%", /invalid X-Registry-Auth header: the value is not base64url/],
      [Buffer.from("user:pw").toString("base64url"), /invalid X-Registry-Auth header: not base64url of a JSON object/],
      [header({ username: "u", password: 5 }), /invalid X-Registry-Auth header: password must be a string, not number/],
      [header({ password: "p" }), /invalid X-Registry-Auth header: a password without a username/],
    ];
    for (const [value, message] of cases) {
      const create = await t.call("POST", "/v1.41/services/create", { ...admin({ "x-registry-auth": value }), body: dockerSpec(a.id) });
      expect(create, value).toMatchObject({ status: 400, body: { message: expect.stringMatching(message) } });
      const update = await t.call("POST", `/v1.41/services/${existing.body.ID}/update?version=1`, { ...admin({ "x-registry-auth": value }), body: dockerSpec(a.id, "kept") });
      expect(update, value).toMatchObject({ status: 400, body: { message: expect.stringMatching(message) } });
      const own = await t.call("POST", "/v1/services", { ...admin({ "x-registry-auth": value }), body: { name: "own", task: { container: { image } } } });
      expect(own, value).toMatchObject({ status: 400, body: { code: "validation_failed", detail: expect.stringMatching(message), errors: [{ path: "header.X-Registry-Auth" }] } });
    }
    const from = await t.call("POST", `/v1.41/services/${existing.body.ID}/update?version=1&registryAuthFrom=elsewhere`, { ...admin(), body: dockerSpec(a.id, "kept") });
    expect(from).toMatchObject({ status: 400, body: { message: expect.stringMatching(/unsupported registryAuthFrom value "elsewhere"/) } });
    expect(await dump()).toBe(before);
  });

  it("removing the service removes its credentials", async () => {
    const a = await joinNode(t);
    const created = await t.call("POST", "/v1.41/services/create", { ...admin({ "x-registry-auth": header(creds) }), body: dockerSpec(a.id) });
    expect((await t.call("DELETE", `/v1.41/services/${created.body.ID}`, admin())).status).toBe(200);
    expect((await t.client.execute("SELECT count(*) AS n FROM service_registry_auths")).rows[0]!.n).toBe(0);
  });
});

describe("shoal's API: X-Registry-Auth on services, X-Registry-Config on stacks", () => {
  it("service create and update take X-Registry-Auth as the Docker API does; no answer carries them", async () => {
    const a = await joinNode(t);
    const res = await t.call("POST", "/v1/services", { ...admin({ "x-registry-auth": header(creds) }), body: { name: "web", task: { container: { image } } } });
    expect(res.status, res.text).toBe(201);
    expect(res.text).not.toContain(password);
    expect(await storedAuth(res.body.id)).toEqual(creds);
    const kept = await t.call("PUT", `/v1/services/${res.body.id}?version=1`, { ...admin(), body: { ...res.body.spec, replicas: 2 } });
    expect(kept.status, kept.text).toBe(200);
    expect(await storedAuth(res.body.id)).toEqual(creds);
    const token = { identitytoken: "oauth-refresh-token", serveraddress: "registry.example:5000" };
    const replaced = await t.call("PUT", `/v1/services/${res.body.id}?version=2`, { ...admin({ "x-registry-auth": header(token) }), body: kept.body.spec });
    expect(replaced.status).toBe(200);
    expect(await storedAuth(res.body.id)).toEqual(token);
    expect((await poll(a.credential)).body.tasks[0]).toMatchObject({ registryAuth: token });
    expect(await everythingVisible(res.body.id)).not.toContain("oauth-refresh-token");
  });

  it("a stack deploy gives each service its image registry's credentials from X-Registry-Config; a redeploy with other ones replaces them, without one keeps them", async () => {
    const file = `services:\n  web:\n    image: ${image}\n  cache:\n    image: redis:7\n`;
    const deploy = (headers: Record<string, string>) => t.call("PUT", "/v1/stacks/shop", { ...admin(headers), body: { files: [file] } });
    const config = (pw: string) => header({ "registry.example:5000": { username: "ci-bot", password: pw }, "ghcr.io": { username: "x", password: "unused-pw" } });
    const first = await deploy({ "x-registry-config": config(password) });
    expect(first.status, first.text).toBe(200);
    expect(first.text).not.toContain(password);
    const ids = Object.fromEntries(first.body.services.map((s: { name: string; id: string }) => [s.name, s.id]));
    expect(await storedAuth(ids.shop_web)).toEqual({ username: "ci-bot", password });
    expect(await storedAuth(ids.shop_cache)).toBeUndefined();
    expect((await dump()).includes("unused-pw")).toBe(false);

    const again = await deploy({ "x-registry-config": config("rotated-pw") });
    expect(again.body.services.map((s: { action: string }) => s.action)).toEqual(["unchanged", "unchanged"]);
    expect(await storedAuth(ids.shop_web)).toEqual({ username: "ci-bot", password: "rotated-pw" });
    expect((await deploy({})).status).toBe(200);
    expect(await storedAuth(ids.shop_web)).toEqual({ username: "ci-bot", password: "rotated-pw" });

    const before = await dump();
    const bad = await deploy({ "x-registry-config": header({ "registry.example:5000": { password: "p" } }) });
    expect(bad).toMatchObject({ status: 400, body: { detail: "invalid X-Registry-Config header: registry.example:5000: a password without a username", errors: [{ path: "header.X-Registry-Config" }] } });
    expect(await dump()).toBe(before);
  });
});
