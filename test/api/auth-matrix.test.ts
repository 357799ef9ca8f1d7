import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signApiToken, signNodeCredential } from "../../src/auth/credentials.js";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { dockerApi } from "../../src/api/docker/routes.js";
import { createTestApp, joinNode, nodeDescription, type TestApp } from "../helpers/app.js";

type Credential =
  | "none"
  | "garbage"
  | "otherCluster"
  | "revokedApi"
  | "expiredNode"
  | "read"
  | "node"
  | "joinWorker"
  | "joinManager"
  | "admin";
/** Allowed credentials last: a route that changes state (rotate, delete) is called by them after the refusals. */
const credentials: Credential[] = ["none", "garbage", "otherCluster", "revokedApi", "expiredNode", "read", "node", "joinWorker", "joinManager", "admin"];
const invalid = new Set<Credential>(["none", "garbage", "otherCluster", "revokedApi", "expiredNode"]);

interface RouteCase {
  method: string;
  path: string;
  allowed: Credential[];
  /** What an allowed call answers when not 2xx: a refusal that only comes once the credential was accepted. */
  answers?: 409;
  request: (ctx: { nodeId: string; taskId: string; webhookId: string; hookId: string; hookToken: string }) => { path: string; body?: unknown };
}

const routes: RouteCase[] = [
  { method: "GET", path: "/healthz", allowed: credentials, request: () => ({ path: "/healthz" }) },
  { method: "GET", path: "/openapi.json", allowed: credentials, request: () => ({ path: "/openapi.json" }) },
  { method: "GET", path: "/docs", allowed: credentials, request: () => ({ path: "/docs" }) },
  { method: "GET", path: "/", allowed: credentials, request: () => ({ path: "/" }) },
  { method: "GET", path: "/ui/app.js", allowed: credentials, request: () => ({ path: "/ui/app.js" }) },
  { method: "GET", path: "/install.sh", allowed: credentials, request: () => ({ path: "/install.sh" }) },
  { method: "GET", path: "/v1/agent/bundle", allowed: credentials, request: () => ({ path: "/v1/agent/bundle" }) },
  { method: "GET", path: "/v1/swarm", allowed: ["read", "admin"], request: () => ({ path: "/v1/swarm" }) },
  { method: "PATCH", path: "/v1/swarm", allowed: ["admin"], request: () => ({ path: "/v1/swarm?version=1", body: { taskHistoryLimit: 3 } }) },
  { method: "GET", path: "/v1/swarm/join-tokens", allowed: ["admin"], request: () => ({ path: "/v1/swarm/join-tokens" }) },
  {
    method: "POST",
    path: "/v1/swarm/join-tokens/{role}/rotate",
    allowed: ["admin"],
    request: () => ({ path: "/v1/swarm/join-tokens/manager/rotate" }),
  },
  { method: "GET", path: "/v1/nodes", allowed: ["read", "admin"], request: () => ({ path: "/v1/nodes" }) },
  { method: "GET", path: "/v1/nodes/{id}", allowed: ["read", "admin"], request: ({ nodeId }) => ({ path: `/v1/nodes/${nodeId}` }) },
  {
    method: "PATCH",
    path: "/v1/nodes/{id}",
    allowed: ["admin"],
    request: ({ nodeId }) => ({ path: `/v1/nodes/${nodeId}?version=1`, body: { availability: "pause" } }),
  },
  { method: "DELETE", path: "/v1/nodes/{id}", allowed: ["admin"], request: ({ nodeId }) => ({ path: `/v1/nodes/${nodeId}?force=true` }) },
  {
    method: "POST",
    path: "/v1/services",
    allowed: ["admin"],
    request: () => ({ path: "/v1/services", body: { name: "fresh", task: { container: { image: "busybox:1" } } } }),
  },
  { method: "GET", path: "/v1/services", allowed: ["read", "admin"], request: () => ({ path: "/v1/services" }) },
  { method: "GET", path: "/v1/services/{id}", allowed: ["read", "admin"], request: () => ({ path: "/v1/services/web" }) },
  {
    method: "PUT",
    path: "/v1/services/{id}",
    allowed: ["admin"],
    request: () => ({ path: "/v1/services/web?version=1", body: { name: "web", replicas: 2, task: { container: { image: "busybox:2" } } } }),
  },
  { method: "DELETE", path: "/v1/services/{id}", allowed: ["admin"], request: () => ({ path: "/v1/services/web" }) },
  { method: "POST", path: "/v1/services/{id}/rollback", allowed: ["admin"], request: () => ({ path: "/v1/services/api/rollback" }) },
  { method: "POST", path: "/v1/services/scale", allowed: ["admin"], request: () => ({ path: "/v1/services/scale", body: { services: { web: 3 } } }) },
  { method: "POST", path: "/v1/services/{id}/hooks", allowed: ["admin"], request: () => ({ path: "/v1/services/web/hooks", body: { name: "hub" } }) },
  { method: "GET", path: "/v1/services/{id}/hooks", allowed: ["admin"], request: () => ({ path: "/v1/services/web/hooks" }) },
  {
    method: "DELETE",
    path: "/v1/services/{id}/hooks/{hookId}",
    allowed: ["admin"],
    request: ({ hookId }) => ({ path: `/v1/services/web/hooks/${hookId}` }),
  },
  // The token in the path is the credential: any bearer (or none) is ignored.
  { method: "POST", path: "/v1/hooks/{token}", allowed: credentials, request: ({ hookToken }) => ({ path: `/v1/hooks/${hookToken}`, body: { tag: "2" } }) },
  { method: "GET", path: "/v1/tasks", allowed: ["read", "admin"], request: () => ({ path: "/v1/tasks" }) },
  { method: "POST", path: "/v1/networks", allowed: ["admin"], request: () => ({ path: "/v1/networks", body: { name: "fresh" } }) },
  { method: "GET", path: "/v1/networks", allowed: ["read", "admin"], request: () => ({ path: "/v1/networks?type=custom" }) },
  { method: "GET", path: "/v1/networks/{id}", allowed: ["read", "admin"], request: () => ({ path: "/v1/networks/ingress" }) },
  { method: "DELETE", path: "/v1/networks/{id}", allowed: ["admin"], request: () => ({ path: "/v1/networks/spare" }) },
  { method: "POST", path: "/v1/networks/prune", allowed: ["admin"], request: () => ({ path: "/v1/networks/prune" }) },
  { method: "POST", path: "/v1/secrets", allowed: ["admin"], request: () => ({ path: "/v1/secrets", body: { name: "fresh", data: "c2VjcmV0" } }) },
  { method: "GET", path: "/v1/secrets", allowed: ["read", "admin"], request: () => ({ path: "/v1/secrets?name=sp" }) },
  { method: "GET", path: "/v1/secrets/{id}", allowed: ["read", "admin"], request: () => ({ path: "/v1/secrets/spare" }) },
  { method: "DELETE", path: "/v1/secrets/{id}", allowed: ["admin"], request: () => ({ path: "/v1/secrets/spare" }) },
  { method: "POST", path: "/v1/configs", allowed: ["admin"], request: () => ({ path: "/v1/configs", body: { name: "fresh", data: "Y29uZg==" } }) },
  { method: "GET", path: "/v1/configs", allowed: ["read", "admin"], request: () => ({ path: "/v1/configs?label=a" }) },
  { method: "GET", path: "/v1/configs/{id}", allowed: ["read", "admin"], request: () => ({ path: "/v1/configs/spare" }) },
  { method: "DELETE", path: "/v1/configs/{id}", allowed: ["admin"], request: () => ({ path: "/v1/configs/spare" }) },
  { method: "GET", path: "/v1/tasks/{id}", allowed: ["read", "admin"], request: ({ taskId }) => ({ path: `/v1/tasks/${taskId}` }) },
  // No agent took the task (it is assigned, with no container yet): the log stream ends at once.
  { method: "GET", path: "/v1/services/{id}/logs", allowed: ["read", "admin"], request: () => ({ path: "/v1/services/web/logs?tail=5" }) },
  // The task is not running (no agent took it): an admin gets as far as the 409.
  { method: "POST", path: "/v1/tasks/{id}/exec", allowed: ["admin"], answers: 409, request: ({ taskId }) => ({ path: `/v1/tasks/${taskId}/exec`, body: { cmd: ["true"] } }) },
  { method: "GET", path: "/v1/tasks/{id}/logs", allowed: ["read", "admin"], request: ({ taskId }) => ({ path: `/v1/tasks/${taskId}/logs?since=10m` }) },
  {
    method: "PUT",
    path: "/v1/stacks/{name}",
    allowed: ["admin"],
    request: () => ({ path: "/v1/stacks/fresh", body: { files: ["services:\n  web:\n    image: busybox:1\n"] } }),
  },
  { method: "GET", path: "/v1/stacks", allowed: ["read", "admin"], request: () => ({ path: "/v1/stacks" }) },
  { method: "GET", path: "/v1/stacks/{name}/services", allowed: ["read", "admin"], request: () => ({ path: "/v1/stacks/shop/services" }) },
  { method: "GET", path: "/v1/stacks/{name}/tasks", allowed: ["read", "admin"], request: () => ({ path: "/v1/stacks/shop/tasks" }) },
  { method: "DELETE", path: "/v1/stacks/{name}", allowed: ["admin"], request: () => ({ path: "/v1/stacks/shop" }) },
  { method: "GET", path: "/v1/tokens", allowed: ["admin"], request: () => ({ path: "/v1/tokens" }) },
  { method: "POST", path: "/v1/tokens", allowed: ["admin"], request: () => ({ path: "/v1/tokens", body: { name: "ci", scope: "read" } }) },
  { method: "DELETE", path: "/v1/tokens/{id}", allowed: ["admin"], request: () => ({ path: "/v1/tokens/tok_spare" }) },
  { method: "GET", path: "/v1/events", allowed: ["read", "admin"], request: () => ({ path: "/v1/events?type=node" }) },
  { method: "GET", path: "/v1/events/stream", allowed: ["read", "admin"], request: () => ({ path: "/v1/events/stream?since=0&until=0s" }) },
  { method: "GET", path: "/v1/webhooks", allowed: ["admin"], request: () => ({ path: "/v1/webhooks" }) },
  {
    method: "POST",
    path: "/v1/webhooks",
    allowed: ["admin"],
    request: () => ({ path: "/v1/webhooks", body: { url: "https://hooks.example.com/x", events: ["task.*"] } }),
  },
  { method: "GET", path: "/v1/webhooks/{id}", allowed: ["admin"], request: ({ webhookId }) => ({ path: `/v1/webhooks/${webhookId}` }) },
  {
    method: "PATCH",
    path: "/v1/webhooks/{id}",
    allowed: ["admin"],
    request: ({ webhookId }) => ({ path: `/v1/webhooks/${webhookId}?version=1`, body: { events: ["node.*"] } }),
  },
  { method: "DELETE", path: "/v1/webhooks/{id}", allowed: ["admin"], request: ({ webhookId }) => ({ path: `/v1/webhooks/${webhookId}` }) },
  {
    method: "GET",
    path: "/v1/webhooks/{id}/deliveries",
    allowed: ["admin"],
    request: ({ webhookId }) => ({ path: `/v1/webhooks/${webhookId}/deliveries` }),
  },
  {
    method: "POST",
    path: "/v1/agent/join",
    allowed: ["joinWorker", "joinManager"],
    request: () => ({ path: "/v1/agent/join", body: { description: nodeDescription() } }),
  },
  { method: "POST", path: "/v1/agent/heartbeat", allowed: ["node"], request: () => ({ path: "/v1/agent/heartbeat" }) },
  { method: "GET", path: "/v1/agent/assignments", allowed: ["node"], request: () => ({ path: "/v1/agent/assignments?since=-1&waitMs=0" }) },
  {
    method: "POST",
    path: "/v1/agent/status",
    allowed: ["node"],
    request: ({ taskId }) => ({ path: "/v1/agent/status", body: { updates: [{ taskId, state: "accepted" }] } }),
  },
  { method: "POST", path: "/v1/agent/leave", allowed: ["node"], request: () => ({ path: "/v1/agent/leave" }) },
  { method: "POST", path: "/v1/agent/logs", allowed: ["node"], request: () => ({ path: "/v1/agent/logs", body: { sessionId: "log_1", lines: [] } }) },
  { method: "POST", path: "/v1/agent/exec", allowed: ["node"], request: () => ({ path: "/v1/agent/exec", body: { execId: "exec_1", claim: true } }) },
];

describe("auth matrix: every credential kind against every route", () => {
  let documented: string[];
  beforeAll(async () => {
    const t = await createTestApp();
    const doc = (await t.call("GET", "/openapi.json")).body;
    documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    t.close();
  });

  it("covers every documented route", () => {
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([...documented].sort());
  });

  describe.each(routes)("$method $path", (route) => {
    let t: TestApp;
    let tokens: Record<Credential, string | undefined>;
    let nodeId: string;
    let taskId: string;
    let webhookId: string;
    let hook: { id: string; token: string };
    beforeAll(async () => {
      t = await createTestApp();
      const node = await joinNode(t);
      nodeId = node.id;
      await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", task: { container: { image: "busybox:1" } } } });
      taskId = (await t.call("GET", "/v1/tasks", { token: t.tokens.admin })).body[0].id;
      // A service with a previous spec, to roll back.
      await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "api", task: { container: { image: "busybox:1" } } } });
      await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { api: 2 } } });
      webhookId = (await t.call("POST", "/v1/webhooks", { token: t.tokens.admin, body: { url: "https://hooks.example.com/matrix" } })).body.id;
      await t.call("PUT", "/v1/stacks/shop", { token: t.tokens.admin, body: { files: ["services:\n  db:\n    image: busybox:1\n"] } });
      await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "spare" } });
      await t.call("POST", "/v1/secrets", { token: t.tokens.admin, body: { name: "spare", data: "c2VjcmV0" } });
      await t.call("POST", "/v1/configs", { token: t.tokens.admin, body: { name: "spare", data: "Y29uZg==" } });
      hook = (await t.call("POST", "/v1/services/web/hooks", { token: t.tokens.admin, body: {} })).body;
      await t.call("POST", "/v1/tokens", { token: t.tokens.admin, body: { name: "spare", scope: "read" } });
      await t.client.execute("UPDATE api_tokens SET id = 'tok_spare' WHERE name = 'spare'");
      const revoked = await t.call("POST", "/v1/tokens", { token: t.tokens.admin, body: { name: "gone", scope: "admin" } });
      await t.call("DELETE", `/v1/tokens/${revoked.body.id}`, { token: t.tokens.admin });
      const other = await importClusterKeys(generateJwtSecret());
      tokens = {
        none: undefined,
        garbage: "not-a-jwt",
        otherCluster: await signApiToken(other, "tok_root", "admin"),
        revokedApi: revoked.body.token,
        expiredNode: await signNodeCredential(t.keys, nodeId, 1, t.clock.now() - 31 * 24 * 3600 * 1000),
        read: t.tokens.read,
        node: node.credential,
        joinWorker: t.tokens.joinWorker,
        joinManager: t.tokens.joinManager,
        admin: t.tokens.admin,
      };
    });
    afterAll(() => t.close());

    it.each(credentials)("%s", async (credential) => {
      const { path, body } = route.request({ nodeId, taskId, webhookId, hookId: hook.id, hookToken: hook.token });
      const eventCount = async () => (await t.client.execute("SELECT count(*) AS n FROM events")).rows[0]!.n;
      const eventsBefore = await eventCount();
      const res = await t.call(route.method, path, { token: tokens[credential], body });
      if (route.allowed.includes(credential) && route.answers) expect(res.status, res.text).toBe(route.answers);
      else if (route.allowed.includes(credential)) {
        expect(res.status, res.text).toBeGreaterThanOrEqual(200);
        expect(res.status, res.text).toBeLessThan(300);
      } else {
        expect(res.status, res.text).toBe(invalid.has(credential) ? 401 : 403);
        expect(res.headers.get("content-type")).toBe("application/problem+json");
        expect(await eventCount()).toBe(eventsBefore);
      }
    });
  });
});

/** The Docker Engine API: the same credentials and scopes, refusals in Docker's `{"message"}` shape. */
interface DockerRouteCase {
  method: string;
  path: string;
  allowed: Credential[];
  /** What an allowed call answers: 2xx, or 501 for what shoal does not have yet. */
  answers?: 501;
  request: (ctx: { nodeId: string; serviceId: string; taskId: string }) => { path: string; body?: unknown };
}
const reader: Credential[] = ["read", "admin"];
const dockerRoutes: DockerRouteCase[] = [
  { method: "HEAD", path: "/_ping", allowed: credentials, request: () => ({ path: "/_ping" }) },
  { method: "GET", path: "/_ping", allowed: credentials, request: () => ({ path: "/v1.41/_ping" }) },
  { method: "GET", path: "/version", allowed: reader, request: () => ({ path: "/version" }) },
  { method: "GET", path: "/info", allowed: reader, request: () => ({ path: "/v1.41/info" }) },
  { method: "GET", path: "/swarm", allowed: reader, request: () => ({ path: "/docker/v1.41/swarm" }) },
  { method: "GET", path: "/nodes", allowed: reader, request: () => ({ path: "/v1.41/nodes" }) },
  { method: "GET", path: "/nodes/:id", allowed: reader, request: ({ nodeId }) => ({ path: `/v1.41/nodes/${nodeId}` }) },
  {
    method: "POST",
    path: "/nodes/:id/update",
    allowed: ["admin"],
    request: ({ nodeId }) => ({ path: `/v1.41/nodes/${nodeId}/update?version=1`, body: { Role: "worker", Availability: "pause", Labels: {} } }),
  },
  { method: "DELETE", path: "/nodes/:id", allowed: ["admin"], request: ({ nodeId }) => ({ path: `/v1.41/nodes/${nodeId}?force=true` }) },
  { method: "GET", path: "/services", allowed: reader, request: () => ({ path: "/v1.41/services?status=true" }) },
  {
    method: "POST",
    path: "/services/create",
    allowed: ["admin"],
    request: () => ({ path: "/v1.41/services/create", body: { Name: "fresh", TaskTemplate: { ContainerSpec: { Image: "busybox:1" } } } }),
  },
  { method: "GET", path: "/services/:id", allowed: reader, request: ({ serviceId }) => ({ path: `/v1.41/services/${serviceId}` }) },
  {
    method: "POST",
    path: "/services/:id/update",
    allowed: ["admin"],
    request: () => ({ path: "/v1.41/services/web/update?version=1", body: { Name: "web", TaskTemplate: { ContainerSpec: { Image: "busybox:2" } } } }),
  },
  { method: "DELETE", path: "/services/:id", allowed: ["admin"], request: () => ({ path: "/v1.41/services/web" }) },
  { method: "GET", path: "/tasks", allowed: reader, request: () => ({ path: `/v1.41/tasks?filters=${encodeURIComponent('{"service":{"web":true}}')}` }) },
  { method: "GET", path: "/tasks/:id", allowed: reader, request: ({ taskId }) => ({ path: `/v1.41/tasks/${taskId}` }) },
  { method: "GET", path: "/events", allowed: reader, request: () => ({ path: "/v1.41/events?since=0&until=0s" }) },
  { method: "GET", path: "/distribution/*", allowed: reader, request: () => ({ path: "/v1.41/distribution/busybox:1/json" }) },
  { method: "GET", path: "/networks", allowed: reader, request: () => ({ path: "/v1.41/networks" }) },
  { method: "GET", path: "/networks/:id", allowed: reader, request: () => ({ path: "/v1.41/networks/app" }) },
  { method: "POST", path: "/networks/create", allowed: ["admin"], request: () => ({ path: "/v1.41/networks/create", body: { Name: "n", Driver: "overlay" } }) },
  { method: "DELETE", path: "/networks/:id", allowed: ["admin"], request: () => ({ path: "/v1.41/networks/app" }) },
  { method: "POST", path: "/networks/prune", allowed: ["admin"], request: () => ({ path: "/v1.41/networks/prune" }) },
  { method: "ALL", path: "/networks/:id/connect", allowed: reader, answers: 501, request: () => ({ path: "/v1.41/networks/app/connect", body: { Container: "x" } }) },
  { method: "ALL", path: "/networks/:id/disconnect", allowed: reader, answers: 501, request: () => ({ path: "/v1.41/networks/app/disconnect", body: { Container: "x" } }) },
  ...(["secret", "config"] as const).flatMap((kind): DockerRouteCase[] => [
    { method: "GET", path: `/${kind}s`, allowed: reader, request: () => ({ path: `/v1.41/${kind}s` }) },
    { method: "GET", path: `/${kind}s/:id`, allowed: reader, request: () => ({ path: `/v1.41/${kind}s/${kind}1` }) },
    { method: "POST", path: `/${kind}s/create`, allowed: ["admin"], request: () => ({ path: `/v1.41/${kind}s/create`, body: { Name: "fresh", Data: "eA==" } }) },
    { method: "POST", path: `/${kind}s/:id/update`, allowed: ["admin"], request: () => ({ path: `/v1.41/${kind}s/${kind}1/update?version=1`, body: { Name: `${kind}1`, Labels: { a: "b" } } }) },
    { method: "DELETE", path: `/${kind}s/:id`, allowed: ["admin"], request: () => ({ path: `/v1.41/${kind}s/${kind}1` }) },
  ]),
  { method: "GET", path: "/services/:id/logs", allowed: reader, request: () => ({ path: "/v1.41/services/web/logs?stdout=1" }) },
  { method: "GET", path: "/tasks/:id/logs", allowed: reader, request: ({ taskId }) => ({ path: `/v1.41/tasks/${taskId}/logs?stdout=1` }) },
  { method: "ALL", path: "/swarm/*", allowed: reader, answers: 501, request: () => ({ path: "/v1.41/swarm/leave" }) },
];
/** How each case is sent: ALL routes with GET, or POST when they carry a body. */
const sentMethod = (r: DockerRouteCase) => (r.method !== "ALL" ? r.method : r.request({ nodeId: "", serviceId: "", taskId: "" }).body ? "POST" : "GET");

describe("auth matrix: the Docker Engine API", () => {
  it("covers every Docker route", async () => {
    const t = await createTestApp();
    const served = dockerApi(t.deps)
      .routes.filter((r) => !r.path.startsWith("/docker") && !r.path.startsWith("/:apiVersion"))
      .map((r) => `${r.method} ${r.path}`);
    expect([...new Set(served)].sort()).toEqual(dockerRoutes.map((r) => `${r.method} ${r.path}`).sort());
    t.close();
  });

  describe.each(dockerRoutes)("$method $path", (route) => {
    let t: TestApp;
    let tokens: Record<Credential, string | undefined>;
    let ctx: { nodeId: string; serviceId: string; taskId: string };
    beforeAll(async () => {
      t = await createTestApp();
      const node = await joinNode(t);
      await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", task: { container: { image: "busybox:1" } } } });
      await t.call("POST", "/v1/networks", { token: t.tokens.admin, body: { name: "app" } });
      for (const kind of ["secret", "config"]) await t.call("POST", `/v1/${kind}s`, { token: t.tokens.admin, body: { name: `${kind}1`, data: "eA==" } });
      const task = (await t.call("GET", "/v1/tasks", { token: t.tokens.admin })).body[0];
      ctx = { nodeId: node.id.replace("node_", ""), serviceId: task.serviceId.replace("svc_", ""), taskId: task.id.replace("task_", "") };
      const revoked = await t.call("POST", "/v1/tokens", { token: t.tokens.admin, body: { name: "gone", scope: "admin" } });
      await t.call("DELETE", `/v1/tokens/${revoked.body.id}`, { token: t.tokens.admin });
      const other = await importClusterKeys(generateJwtSecret());
      tokens = {
        none: undefined,
        garbage: "not-a-jwt",
        otherCluster: await signApiToken(other, "tok_root", "admin"),
        revokedApi: revoked.body.token,
        expiredNode: await signNodeCredential(t.keys, node.id, 1, t.clock.now() - 31 * 24 * 3600 * 1000),
        read: t.tokens.read,
        node: node.credential,
        joinWorker: t.tokens.joinWorker,
        joinManager: t.tokens.joinManager,
        admin: t.tokens.admin,
      };
    });
    afterAll(() => t.close());

    it.each(credentials)("%s", async (credential) => {
      const { path, body } = route.request(ctx);
      const eventCount = async () => (await t.client.execute("SELECT count(*) AS n FROM events")).rows[0]!.n;
      const eventsBefore = await eventCount();
      const res = await t.call(sentMethod(route), path, { token: tokens[credential], body });
      expect(res.headers.get("api-version")).toBe("1.41");
      if (route.allowed.includes(credential)) {
        if (route.answers) expect(res.status, res.text).toBe(route.answers);
        else {
          expect(res.status, res.text).toBeGreaterThanOrEqual(200);
          expect(res.status, res.text).toBeLessThan(300);
        }
      } else {
        expect(res.status, res.text).toBe(invalid.has(credential) ? 401 : 403);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
        expect(typeof res.body.message).toBe("string");
        expect(await eventCount()).toBe(eventsBefore);
      }
    });
  });
});
