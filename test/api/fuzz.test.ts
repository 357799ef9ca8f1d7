import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorStatus } from "../../src/http/errors.js";
import { createTestApp, joinNode, nodeDescription, type TestApp } from "../helpers/app.js";

/**
 * Thousands of malformed requests against every route that takes input: each
 * must get a 4xx in the one problem shape, and the database must not change.
 */

type Template = {
  method: string;
  path: (id: string) => string;
  idParam?: boolean;
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  token: (t: TestApp, node: string) => string;
  /** What the request as written answers when not 2xx: a refusal that comes only after every field was accepted. */
  validStatus?: number;
};

let nodeCredential = "";
let webhookId = "";
const webhookPath = (id: string, rest = "") => `/v1/webhooks/${id === "__NODE__" ? webhookId : id}${rest}`;
let hookId = "";
let hookToken = "";
const admin = (t: TestApp) => t.tokens.admin;
const templates: Record<string, Template> = {
  "PATCH /v1/swarm": { method: "PATCH", path: () => "/v1/swarm", query: { version: "1" }, body: { taskHistoryLimit: 3, heartbeatPeriodMs: 3000 }, token: admin },
  "POST rotate": { method: "POST", path: (id) => `/v1/swarm/join-tokens/${id}/rotate`, idParam: true, token: admin },
  "GET /v1/nodes": { method: "GET", path: () => "/v1/nodes", query: { role: "worker" }, token: admin },
  "GET /v1/nodes/{id}": { method: "GET", path: (id) => `/v1/nodes/${id}`, idParam: true, token: admin },
  "PATCH /v1/nodes/{id}": {
    method: "PATCH",
    path: (id) => `/v1/nodes/${id}`,
    idParam: true,
    query: { version: "1" },
    body: { availability: "drain", role: "manager", labelAdd: { zone: "a" }, labelRm: ["x"] },
    token: admin,
  },
  "DELETE /v1/nodes/{id}": { method: "DELETE", path: (id) => `/v1/nodes/${id}`, idParam: true, query: { force: "true" }, token: admin },
  "POST /v1/services": {
    method: "POST",
    path: () => "/v1/services",
    body: {
      name: "fuzzed",
      replicas: 2,
      task: {
        container: { image: "busybox:1", env: ["A=1"], mounts: [{ type: "tmpfs", target: "/tmp" }] },
        placement: { constraints: ["node.role==worker"] },
        resources: { reservations: { nanoCpus: 100_000_000 } },
        secrets: [{ source: "fuzzsec", target: "pw", uid: 1, gid: 2, mode: 256 }],
        configs: [{ source: "fuzzcfg", target: "/etc/app.conf" }],
      },
      endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] },
      update: { parallelism: 2, order: "start-first" },
    },
    token: admin,
  },
  "PUT /v1/services/{id}": {
    method: "PUT",
    path: (id) => `/v1/services/${id === "__NODE__" ? "existing" : id}`,
    idParam: true,
    query: { version: "2" },
    body: { name: "existing", replicas: 3, task: { container: { image: "busybox:2" } } },
    token: admin,
  },
  "POST /v1/services/{id}/rollback": {
    method: "POST",
    path: (id) => `/v1/services/${id === "__NODE__" ? "existing" : id}/rollback`,
    idParam: true,
    query: { version: "2" },
    token: admin,
  },
  "POST /v1/services/scale": { method: "POST", path: () => "/v1/services/scale", body: { services: { existing: 4 } }, token: admin },
  "PUT /v1/stacks/{name}": {
    method: "PUT",
    path: (id) => `/v1/stacks/${id}`,
    idParam: true,
    body: {
      files: ["services:\n  web:\n    image: busybox:${TAG}\n    volumes: [./data:/data]\n", "services:\n  web:\n    env_file: web.env\n"],
      env: { TAG: "1" },
      workingDir: "/srv/app",
      envFiles: { "web.env": "A=1" },
    },
    token: admin,
  },
  "POST /v1/networks": {
    method: "POST",
    path: () => "/v1/networks",
    // No boolean fields: a wrong leaf may be a boolean, which they accept.
    body: { name: "fuzzed", driver: "overlay", subnet: "10.20.0.0/24", gateway: "10.20.0.254", options: { "com.docker.network.driver.mtu": "1400" }, labels: { a: "b" } },
    token: admin,
  },
  "GET /v1/networks": { method: "GET", path: () => "/v1/networks", query: { name: "fuzz", type: "custom" }, token: admin },
  "GET /v1/networks/{id}": { method: "GET", path: (id) => `/v1/networks/${id === "__NODE__" ? "fuzznet" : id}`, idParam: true, token: admin },
  "DELETE /v1/networks/{id}": { method: "DELETE", path: (id) => `/v1/networks/${id === "__NODE__" ? "fuzznet" : id}`, idParam: true, token: admin },
  "POST /v1/networks/prune": { method: "POST", path: () => "/v1/networks/prune", query: { label: "none=here" }, token: admin },
  "POST /v1/secrets": { method: "POST", path: () => "/v1/secrets", body: { name: "fuzzed", data: "c2VjcmV0", labels: { a: "b" } }, token: admin },
  "GET /v1/secrets": { method: "GET", path: () => "/v1/secrets", query: { name: "fuzz", label: "a" }, token: admin },
  "GET /v1/secrets/{id}": { method: "GET", path: (id) => `/v1/secrets/${id === "__NODE__" ? "fuzzsec" : id}`, idParam: true, token: admin },
  "DELETE /v1/secrets/{id}": { method: "DELETE", path: (id) => `/v1/secrets/${id === "__NODE__" ? "fuzzsec" : id}`, idParam: true, token: admin },
  "POST /v1/configs": { method: "POST", path: () => "/v1/configs", body: { name: "fuzzed", data: "Y29uZg==", labels: { a: "b" } }, token: admin },
  "GET /v1/configs": { method: "GET", path: () => "/v1/configs", query: { id: "cfg_", names: "fuzzcfg" }, token: admin },
  "GET /v1/configs/{id}": { method: "GET", path: (id) => `/v1/configs/${id === "__NODE__" ? "fuzzcfg" : id}`, idParam: true, token: admin },
  "DELETE /v1/configs/{id}": { method: "DELETE", path: (id) => `/v1/configs/${id === "__NODE__" ? "fuzzcfg" : id}`, idParam: true, token: admin },
  "POST /v1/tokens": { method: "POST", path: () => "/v1/tokens", body: { name: "x", scope: "read" }, token: admin },
  "DELETE /v1/tokens/{id}": { method: "DELETE", path: (id) => `/v1/tokens/${id}`, idParam: true, token: admin },
  "GET /v1/events": { method: "GET", path: () => "/v1/events", query: { type: "node", event: "task.*", since: "10m", service: "existing", limit: "10" }, token: admin },
  "GET /v1/events/stream": { method: "GET", path: () => "/v1/events/stream", query: { since: "0", until: "0s", node: "host-1" }, token: admin },
  "POST /v1/webhooks": {
    method: "POST",
    path: () => "/v1/webhooks",
    // No boolean fields: a wrong leaf may be a boolean, which they accept.
    body: { name: "hook", url: "https://hooks.example.com/x", events: ["task.failed", "service.update.*"], secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
    token: admin,
  },
  "GET /v1/webhooks/{id}": { method: "GET", path: (id) => webhookPath(id), idParam: true, token: admin },
  "PATCH /v1/webhooks/{id}": {
    method: "PATCH",
    path: (id) => webhookPath(id),
    idParam: true,
    query: { version: "1" },
    body: { url: "https://hooks.example.com/y", events: ["node.*"], name: "renamed" },
    token: admin,
  },
  "DELETE /v1/webhooks/{id}": { method: "DELETE", path: (id) => webhookPath(id), idParam: true, token: admin },
  "GET /v1/webhooks/{id}/deliveries": {
    method: "GET",
    path: (id) => webhookPath(id, "/deliveries"),
    idParam: true,
    query: { state: "pending", limit: "10" },
    token: admin,
  },
  "POST /v1/services/{id}/hooks": {
    method: "POST",
    path: (id) => `/v1/services/${id === "__NODE__" ? "existing" : id}/hooks`,
    idParam: true,
    body: { name: "hub", action: "redeploy" },
    token: admin,
  },
  "DELETE /v1/services/{id}/hooks/{hookId}": {
    method: "DELETE",
    path: (id) => `/v1/services/existing/hooks/${id === "__NODE__" ? hookId : id}`,
    idParam: true,
    token: admin,
  },
  // The token in the path is the credential; the bearer is ignored.
  "POST /v1/hooks/{token}": { method: "POST", path: (id) => `/v1/hooks/${id === "__NODE__" ? hookToken : id}`, idParam: true, body: { tag: "2" }, token: admin },
  "POST /v1/agent/join": {
    method: "POST",
    path: () => "/v1/agent/join",
    body: { role: "worker", description: nodeDescription({ machineId: "fuzz-machine-0001" }) },
    token: (t) => t.tokens.joinWorker,
  },
  "POST /v1/agent/status": {
    method: "POST",
    path: () => "/v1/agent/status",
    body: { updates: [{ taskId: "task_0000000000000000000a", state: "running", message: "ok" }] },
    token: () => nodeCredential,
  },
  "GET /v1/services/{id}/logs": {
    method: "GET",
    path: (id) => `/v1/services/${id === "__NODE__" ? "existing" : id}/logs`,
    idParam: true,
    query: { tail: "5", since: "10m", follow: "false" },
    token: admin,
  },
  // No such task: as written, the request gets past validation to the 404 (an exec needs a running task and its agent).
  "POST /v1/tasks/{id}/exec": {
    method: "POST",
    path: (id) => `/v1/tasks/${id === "__NODE__" || id.startsWith("node_") ? "task_0000000000000000000a" : id}/exec`,
    idParam: true,
    body: { cmd: ["sh", "-c", "echo hi; exit 3"] },
    token: admin,
    validStatus: 404,
  },
  "POST /v1/agent/exec": {
    method: "POST",
    path: () => "/v1/agent/exec",
    // No exit: its exitCode may be null, so a null put there by the mutations would be valid.
    body: { execId: "exec_0000000000000000000a", output: [{ stream: "stdout", data: "hi" }] },
    token: () => nodeCredential,
  },
  "POST /v1/agent/logs": {
    method: "POST",
    path: () => "/v1/agent/logs",
    body: { sessionId: "log_0000000000000000000a", lines: [{ taskId: "task_0000000000000000000a", stream: "stderr", time: "2026-01-01T00:00:00.000000001Z", text: "x" }] },
    token: () => nodeCredential,
  },
  "GET /v1/agent/assignments": { method: "GET", path: () => "/v1/agent/assignments", query: { since: "0", waitMs: "0" }, token: () => nodeCredential },
  "POST /v1/agent/heartbeat": {
    method: "POST",
    path: () => "/v1/agent/heartbeat",
    body: { description: { ...nodeDescription(), machineId: undefined } },
    token: () => nodeCredential,
  },
};

/** Paths to every string/number leaf of a JSON object. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...prefix, String(i)]));
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [];
  return entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

function setPath(obj: Record<string, unknown>, path: string[], v: unknown): Record<string, unknown> {
  const copy = structuredClone(obj);
  let cur: any = copy;
  for (const key of path.slice(0, -1)) cur = cur[key];
  cur[path.at(-1)!] = v;
  return copy;
}

/** A value no leaf field accepts (our leaves are strings, numbers and enums). */
const wrongLeaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.anything(), { maxKeys: 3 }),
  fc.double({ noNaN: false }).filter((d) => !Number.isInteger(d)),
);

/** A body with one leaf replaced by arrays or objects nested past the JSON depth limit, or deep enough to overflow a recursive walk (built as text: JSON.stringify would overflow). */
const deepLeaf = (body: Record<string, unknown>) =>
  fc.tuple(fc.constantFrom(...leafPaths(body)), fc.oneof(fc.integer({ min: 65, max: 200 }), fc.constant(20_000)), fc.boolean()).map(([p, n, objects]) =>
    JSON.stringify(setPath(body, p, "__DEEP__")).replace('"__DEEP__"', objects ? `${'{"a":'.repeat(n)}1${"}".repeat(n)}` : `${"[".repeat(n)}${"]".repeat(n)}`),
  );

interface Malformed {
  path: string;
  query: string;
  body?: string;
  contentType?: string;
}

function malformed(tpl: Template): fc.Arbitrary<Malformed> {
  const validQuery = new URLSearchParams(tpl.query ?? {}).toString();
  const id = tpl.path === templates["POST rotate"]!.path ? "worker" : "__NODE__";
  const base = (over: Partial<Malformed>): Malformed => ({
    path: tpl.path(id),
    query: validQuery,
    ...(tpl.body ? { body: JSON.stringify(tpl.body), contentType: "application/json" } : {}),
    ...over,
  });
  const options: fc.Arbitrary<Malformed>[] = [];
  if (tpl.idParam)
    options.push(fc.string({ maxLength: 40 }).map((s) => base({ path: tpl.path(encodeURIComponent(`${s}!`)) })));
  if (tpl.query) {
    options.push(
      // The prefix keeps the key unknown: a random key may be a real filter ("name").
      fc.string({ maxLength: 10 }).map((k) => base({ query: `${validQuery}&${encodeURIComponent(`x_${k}`)}=1` })),
    );
    if ("version" in tpl.query)
      options.push(
        fc.oneof(fc.string(), fc.integer({ max: 0 }).map(String), fc.double().map(String))
          .filter((v) => !/^\s*\+?0*[1-9]\d*(\.0*)?\s*$/.test(v) && !/^\s*\d+(e\d+)?\s*$/i.test(v))
          .map((v) => base({ query: `version=${encodeURIComponent(v)}` })),
      );
  }
  if (tpl.body) {
    options.push(
      fc.oneof(fc.integer(), fc.string(), fc.array(fc.anything()), fc.constant(null), fc.boolean()).map((v) => base({ body: JSON.stringify(v) })),
      fc.tuple(fc.string({ maxLength: 12 }), fc.jsonValue()).map(([k, v]) => base({ body: JSON.stringify({ ...tpl.body, [`x_${k}`]: v }) })),
      fc.tuple(fc.constantFrom(...leafPaths(tpl.body)), wrongLeaf).map(([p, v]) => base({ body: JSON.stringify(setPath(tpl.body!, p, v)) })),
      deepLeaf(tpl.body).map((body) => base({ body })),
      fc.integer({ min: 0, max: JSON.stringify(tpl.body).length - 1 }).map((n) => base({ body: JSON.stringify(tpl.body).slice(0, n) })),
      fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x").map((ct) =>
        base({ contentType: ct }),
      ),
    );
  }
  return fc.oneof(...options);
}

describe("fuzz templates", () => {
  // The mutations only mean something if the unmutated requests are accepted.
  it.each(Object.entries(templates))("%s is valid as written", async (_name, tpl) => {
    const t = await createTestApp();
    const node = await joinNode(t);
    nodeCredential = node.credential;
    await t.call("POST", "/v1/tokens", { token: t.tokens.admin, body: { name: "spare", scope: "read" } });
    await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "existing", task: { container: { image: "busybox:1" } } } });
    // A previous spec, for rollback.
    await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { existing: 1 } } });
    ({ id: hookId, token: hookToken } = (await t.call("POST", "/v1/services/existing/hooks", { token: t.tokens.admin, body: {} })).body);
    const spare = (await t.client.execute("SELECT id FROM api_tokens WHERE name = 'spare'")).rows[0]!.id as string;
    webhookId = (await t.call("POST", "/v1/webhooks", { token: t.tokens.admin, body: { url: "https://hooks.example.com/x" } })).body.id;
    await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "fuzznet" } });
    await t.call("POST", "/v1/secrets", { token: t.tokens.admin, body: { name: "fuzzsec", data: "c2VjcmV0" } });
    await t.call("POST", "/v1/configs", { token: t.tokens.admin, body: { name: "fuzzcfg", data: "Y29uZg==" } });
    const id =
      tpl.path === templates["POST rotate"]!.path
        ? "worker"
        : tpl.path(node.id).includes("/webhooks/")
          ? webhookId
          : tpl.path(node.id).includes("/hooks") || tpl.path(node.id).includes("/networks/") || tpl.path(node.id).includes("/secrets/") || tpl.path(node.id).includes("/configs/")
          ? "__NODE__"
          : tpl.path(node.id).includes("/tokens/")
          ? spare
          : tpl.path(node.id).includes("/services/")
            ? "existing"
            : node.id;
    const query = new URLSearchParams(tpl.query ?? {}).toString();
    const res = await t.call(tpl.method, `${tpl.path(id)}${query ? `?${query}` : ""}`, { token: tpl.token(t, node.id), body: tpl.body });
    if (tpl.validStatus) expect(res.status, res.text).toBe(tpl.validStatus);
    else expect(res.status, res.text).toBeLessThan(300);
    t.close();
  });
});

describe("fuzz: malformed requests", () => {
  let t: TestApp;
  let nodeId = "";
  const snapshot = async () => {
    const tables = ["cluster", "nodes", "api_tokens", "events", "webhooks", "webhook_deliveries", "service_hooks", "networks", "ip_allocations", "file_objects", "log_sessions", "log_chunks", "exec_sessions"];
    const out: Record<string, unknown> = {};
    for (const table of tables) out[table] = (await t.client.execute(`SELECT * FROM ${table} ORDER BY rowid`)).rows;
    return JSON.stringify(out);
  };
  let before = "";
  let requests = 0;

  beforeAll(async () => {
    t = await createTestApp();
    const node = await joinNode(t);
    nodeId = node.id;
    nodeCredential = node.credential;
    await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "existing", task: { container: { image: "busybox:1" } } } });
    // A previous spec, for rollback.
    await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { existing: 1 } } });
    webhookId = (await t.call("POST", "/v1/webhooks", { token: t.tokens.admin, body: { url: "https://hooks.example.com/x" } })).body.id;
    ({ id: hookId, token: hookToken } = (await t.call("POST", "/v1/services/existing/hooks", { token: t.tokens.admin, body: {} })).body);
    await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "fuzznet" } });
    await t.call("POST", "/v1/secrets", { token: t.tokens.admin, body: { name: "fuzzsec", data: "c2VjcmV0" } });
    await t.call("POST", "/v1/configs", { token: t.tokens.admin, body: { name: "fuzzcfg", data: "Y29uZg==" } });
    // Let the reconcile the join asked for run now, so only the fuzzed requests could change anything.
    await t.call("GET", "/v1/swarm", { token: t.tokens.read });
    before = await snapshot();
  });
  afterAll(() => t.close());

  const check = async (res: Awaited<ReturnType<TestApp["call"]>>, what: string) => {
    requests++;
    expect(res.status, `${what} → ${res.status} ${res.text}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `${what} → ${res.status} ${res.text}`).toBeLessThan(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(Object.keys(errorStatus)).toContain(res.body.code);
    expect(res.body.status).toBe(res.status);
    expect(typeof res.body.detail).toBe("string");
    if (res.body.code === "validation_failed") {
      expect(res.body.errors.length).toBeGreaterThan(0);
      for (const e of res.body.errors) expect(e.path).toMatch(/^(body|query|path)/);
    }
  };

  it.each(Object.entries(templates))("%s", async (_name, tpl) => {
    await fc.assert(
      fc.asyncProperty(malformed(tpl), async (m) => {
        const path = m.path.replace("__NODE__", nodeId);
        const url = m.query ? `${path}?${m.query}` : path;
        const res = await t.call(tpl.method, url, {
          token: tpl.token(t, nodeId),
          ...(m.body !== undefined ? { body: m.body, headers: { "content-type": m.contentType ?? "application/json" } } : {}),
        });
        await check(res, `${tpl.method} ${url} ${m.body ?? ""}`);
      }),
      { numRuns: 300 },
    );
    expect(await snapshot()).toBe(before);
  });

  it("garbage credentials on every route", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.values(templates)),
        fc.oneof(fc.string(), fc.base64String(), fc.string().map((s) => `eyJ${s}.eyJ${s}.${s}`)),
        async (tpl, token) => {
          const res = await t.call(tpl.method, tpl.path(nodeId), {
            headers: { authorization: token.startsWith("Bearer") ? token : `Bearer ${token}` },
          });
          await check(res, `${tpl.method} with ${JSON.stringify(token)}`);
        },
      ),
      { numRuns: 500 },
    );
    expect(await snapshot()).toBe(before);
    expect(requests).toBeGreaterThan(3000);
  });
});

/**
 * The Docker Engine API decodes leniently, as dockerd does (unknown fields and
 * nulls are ignored), so its mutations are the ones Go's decoder refuses too:
 * a wrong type at a field, a body that is not a JSON object, truncated JSON,
 * another content type, a bad version or id. Each gets Docker's `{"message"}`
 * with a 4xx, and nothing is written.
 */
const dockerTemplates: Record<string, Omit<Template, "token">> = {
  "POST /services/create": {
    method: "POST",
    path: () => "/v1.41/services/create",
    body: {
      Name: "fuzzed",
      Labels: { tier: "front" },
      TaskTemplate: {
        ContainerSpec: { Image: "busybox:1", Env: ["A=1"], Mounts: [{ Type: "tmpfs", Target: "/tmp" }], StopGracePeriod: 10_000_000_000 },
        Placement: { Constraints: ["node.role==worker"] },
        Resources: { Reservations: { NanoCPUs: 100_000_000 } },
        RestartPolicy: { Condition: "on-failure", Delay: 5_000_000_000 },
      },
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
      UpdateConfig: { Parallelism: 2, Order: "start-first", Monitor: 1_000_000_000 },
    },
  },
  "POST /services/{id}/update": {
    method: "POST",
    path: (id) => `/v1.41/services/${id === "__NODE__" ? "existing" : id}/update`,
    idParam: true,
    query: { version: "2" },
    body: { Name: "existing", TaskTemplate: { ContainerSpec: { Image: "busybox:2", Args: ["sleep", "1d"] } }, Mode: { Replicated: { Replicas: 3 } } },
  },
  "DELETE /services/{id}": { method: "DELETE", path: (id) => `/v1.41/services/${id === "__NODE__" ? "existing" : id}`, idParam: true },
  "POST /nodes/{id}/update": {
    method: "POST",
    path: (id) => `/v1.41/nodes/${id}/update`,
    idParam: true,
    query: { version: "1" },
    body: { Role: "manager", Availability: "drain", Labels: { zone: "a" } },
  },
  "DELETE /nodes/{id}": { method: "DELETE", path: (id) => `/v1.41/nodes/${id}`, idParam: true, query: { force: "1" } },
};

/** Non-null values of a type no leaf of the templates takes (they are strings and integers). */
const dockerWrongLeaf = fc.oneof(
  fc.boolean(),
  fc.array(fc.jsonValue(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1 }), fc.jsonValue(), { minKeys: 1, maxKeys: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
);

function malformedDocker(tpl: Omit<Template, "token">): fc.Arbitrary<Malformed> {
  const validQuery = new URLSearchParams(tpl.query ?? {}).toString();
  const base = (over: Partial<Malformed>): Malformed => ({
    path: tpl.path("__NODE__"),
    query: validQuery,
    ...(tpl.body ? { body: JSON.stringify(tpl.body), contentType: "application/json" } : {}),
    ...over,
  });
  const options: fc.Arbitrary<Malformed>[] = [];
  if (tpl.idParam) options.push(fc.string({ maxLength: 40 }).map((s) => base({ path: tpl.path(encodeURIComponent(`${s}!`)) })));
  if (tpl.query && "version" in tpl.query)
    options.push(
      fc.oneof(fc.string(), fc.integer({ max: 0 }).map(String), fc.double().map(String))
        .filter((v) => !/^[1-9][0-9]*$/.test(v))
        .map((v) => base({ query: `version=${encodeURIComponent(v)}` })),
    );
  if (tpl.body)
    options.push(
      fc.oneof(fc.integer(), fc.string(), fc.array(fc.jsonValue()), fc.constant(null), fc.boolean()).map((v) => base({ body: JSON.stringify(v) })),
      fc.tuple(fc.constantFrom(...leafPaths(tpl.body)), dockerWrongLeaf).map(([p, v]) => base({ body: JSON.stringify(setPath(tpl.body!, p, v)) })),
      deepLeaf(tpl.body).map((body) => base({ body })),
      fc.integer({ min: 0, max: JSON.stringify(tpl.body).length - 1 }).map((n) => base({ body: JSON.stringify(tpl.body).slice(0, n) })),
      fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x").map((ct) => base({ contentType: ct })),
    );
  return fc.oneof(...options);
}

describe("fuzz: malformed Docker API requests", () => {
  let t: TestApp;
  let nodeId = "";
  const snapshot = async () => {
    const out: Record<string, unknown> = {};
    for (const table of ["cluster", "nodes", "services", "tasks", "events"]) out[table] = (await t.client.execute(`SELECT * FROM ${table} ORDER BY rowid`)).rows;
    return JSON.stringify(out);
  };
  let before = "";

  beforeAll(async () => {
    t = await createTestApp();
    nodeId = (await joinNode(t)).id.replace("node_", "");
    await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "existing", task: { container: { image: "busybox:1" } } } });
    await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { existing: 1 } } });
    await t.call("GET", "/v1/swarm", { token: t.tokens.read });
    before = await snapshot();
  });
  afterAll(() => t.close());

  it.each(Object.entries(dockerTemplates))("%s is valid as written", async (_name, tpl) => {
    const fresh = await createTestApp();
    const node = await joinNode(fresh);
    await fresh.call("POST", "/v1/services", { token: fresh.tokens.admin, body: { name: "existing", task: { container: { image: "busybox:1" } } } });
    await fresh.call("POST", "/v1/services/scale", { token: fresh.tokens.admin, body: { services: { existing: 1 } } });
    const query = new URLSearchParams(tpl.query ?? {}).toString();
    const path = tpl.path("__NODE__").replace("__NODE__", node.id.replace("node_", ""));
    const res = await fresh.call(tpl.method, `${path}${query ? `?${query}` : ""}`, { token: fresh.tokens.admin, body: tpl.body });
    expect(res.status, res.text).toBeLessThan(300);
    fresh.close();
  });

  it.each(Object.entries(dockerTemplates))("%s", async (_name, tpl) => {
    await fc.assert(
      fc.asyncProperty(malformedDocker(tpl), async (m) => {
        const path = m.path.replace("__NODE__", nodeId);
        const url = m.query ? `${path}?${m.query}` : path;
        const res = await t.call(tpl.method, url, {
          token: t.tokens.admin,
          ...(m.body !== undefined ? { body: m.body, headers: { "content-type": m.contentType ?? "application/json" } } : {}),
        });
        const what = `${tpl.method} ${url} ${m.body ?? ""} → ${res.status} ${res.text}`;
        expect(res.status, what).toBeGreaterThanOrEqual(400);
        expect(res.status, what).toBeLessThan(500);
        expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
        expect(typeof res.body?.message, what).toBe("string");
      }),
      { numRuns: 300 },
    );
    expect(await snapshot()).toBe(before);
  });
});
