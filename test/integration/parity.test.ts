import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { nodeDescription as describeNode } from "../helpers/app.js";
import { startNodeServer, startWorker, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";

/**
 * The same requests against the Node entry (embedded libSQL file) and the
 * Worker entry (workerd via wrangler dev, local D1) must get the same answers.
 */

interface Step {
  step: string;
  status: number;
  body: unknown;
}

function normalizer() {
  const ids = new Map<string, string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(v)) return "<jwt>";
      if (/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v)) return "<time>";
      // Task ids come in random order: they all read the same. Others are numbered as they first appear.
      return v
        .replace(/^https?:\/\/[^/]+(?=\/v1\/hooks\/)/, "<origin>")
        .replace(/\bshk_[\w-]{43}\b/g, "<hook-token>")
        .replace(/\btask_[a-v0-9]{20}\b/g, "<task>")
        .replace(/\b(node|tok|svc|hook|net)_[a-v0-9]{20}\b/g, (id) => {
        if (!ids.has(id)) ids.set(id, `<${id.split("_")[0]}#${ids.size + 1}>`);
        return ids.get(id)!;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}

async function scenario(baseUrl: string, adminToken: string): Promise<Step[]> {
  const steps: Step[] = [];
  const normalize = normalizer();
  async function call(step: string, method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; contentType?: string } = {}) {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined || opts.raw !== undefined) {
      headers["content-type"] = opts.contentType ?? "application/json";
      body = opts.raw ?? JSON.stringify(opts.body);
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    const json = text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text.slice(0, 40);
    let answer = normalize(json);
    // Lists of tasks come in id order, and ids are random: compare them by (normalized) content.
    if (Array.isArray(answer) && (answer[0] as { name?: string })?.name) answer = answer.map((x) => JSON.stringify(x)).sort().map((x) => JSON.parse(x));
    steps.push({ step, status: res.status, body: answer });
    return json;
  }
  const admin = { token: adminToken };
  // Fixed descriptions, so both runs send exactly the same requests.
  const nodeDescription = (over: { machineId: string; hostname?: string }) =>
    describeNode({ hostname: over.machineId.replace("parity-machine", "host"), addr: "10.1.2.3", ...over });

  await call("health", "GET", "/healthz");
  await call("swarm", "GET", "/v1/swarm", admin);
  await call("swarm without token", "GET", "/v1/swarm");
  await call("swarm update", "PATCH", "/v1/swarm?version=1", { ...admin, body: { taskHistoryLimit: 2, defaultStrategy: "binpack" } });
  await call("swarm update stale", "PATCH", "/v1/swarm?version=1", { ...admin, body: { taskHistoryLimit: 3 } });
  await call("swarm update invalid", "PATCH", "/v1/swarm?version=2", { ...admin, body: { missedHeartbeats: 0, bogus: 1 } });
  const joinTokens = await call("join tokens", "GET", "/v1/swarm/join-tokens", admin);
  const ro = await call("create read token", "POST", "/v1/tokens", { ...admin, body: { name: "ro", scope: "read" } });
  await call("read with read token", "GET", "/v1/swarm", { token: ro.token });
  await call("write with read token", "PATCH", "/v1/swarm?version=2", { token: ro.token, body: { taskHistoryLimit: 4 } });
  const desc = nodeDescription({ hostname: "parity-1", machineId: "parity-machine-1" });
  const first = await call("join", "POST", "/v1/agent/join", { token: joinTokens.worker, body: { description: desc } });
  const again = await call("re-join", "POST", "/v1/agent/join", { token: joinTokens.worker, body: { description: desc } });
  await call("join as manager with worker token", "POST", "/v1/agent/join", {
    token: joinTokens.worker,
    body: { role: "manager", description: nodeDescription({ machineId: "parity-machine-2" }) },
  });
  await call("heartbeat old credential", "POST", "/v1/agent/heartbeat", { token: first.credential });
  await call("heartbeat", "POST", "/v1/agent/heartbeat", { token: again.credential });
  await call("heartbeat with description", "POST", "/v1/agent/heartbeat", {
    token: again.credential,
    body: { description: { ...desc, machineId: undefined, engine: { version: "24.0.7", labels: { gpu: "no" } } } },
  });
  await call("node as admin credential", "GET", "/v1/nodes", { token: again.credential });
  await call("manager join", "POST", "/v1/agent/join", { token: joinTokens.manager, body: { description: nodeDescription({ hostname: "parity-2", machineId: "parity-machine-3" }) } });
  await call("create service", "POST", "/v1/services", {
    ...admin,
    body: {
      name: "web",
      replicas: 5,
      // One eligible node, so placement does not hang on how random node ids compare.
      task: { container: { image: "busybox:1" }, placement: { constraints: ["node.role==manager"] } },
      endpoint: { ports: [{ targetPort: 80 }] },
    },
  });
  await call("create global service", "POST", "/v1/services", { ...admin, body: { name: "mon", mode: "global", task: { container: { image: "busybox:1" } } } });
  await call("invalid service", "POST", "/v1/services", { ...admin, body: { name: "bad name", task: { container: { image: "" } } } });
  await call("tasks", "GET", "/v1/tasks?desired-state=running", admin);
  await call("scale", "POST", "/v1/services/scale", { ...admin, body: { services: { web: 2 } } });
  const web = await call("service", "GET", "/v1/services/web", admin);
  await call("update service", "PUT", "/v1/services/web?version=2", { ...admin, body: { ...web.spec, task: { ...web.spec.task, container: { image: "busybox:2" } } } });
  await call("services", "GET", "/v1/services", admin);
  const hook = await call("create webhook", "POST", "/v1/services/web/hooks", { ...admin, body: { name: "hub" } });
  await call("webhooks", "GET", "/v1/services/web/hooks", admin);
  await call("trigger webhook", "POST", `/v1/hooks/${hook.token}`, { body: { push_data: { tag: "3" }, repository: { repo_name: "library/busybox" } } });
  await call("trigger webhook, other repository", "POST", `/v1/hooks/${hook.token}`, { body: { push_data: { tag: "3" }, repository: { repo_name: "acme/x" } } });
  await call("trigger webhook, GitHub ping", "POST", `/v1/hooks/${hook.token}`, { body: { zen: "hi" } });
  await call("trigger unknown webhook", "POST", "/v1/hooks/shk_nope", {});
  await call("service after webhook", "GET", "/v1/services/web", admin);
  await call("delete webhook", "DELETE", `/v1/services/web/hooks/${hook.id}`, admin);
  await call("trigger deleted webhook", "POST", `/v1/hooks/${hook.token}`, {});
  await call("remove service", "DELETE", "/v1/services/mon", admin);
  await call("tasks after", "GET", "/v1/tasks", admin);
  await call("nodes", "GET", "/v1/nodes", admin);
  await call("nodes by role", "GET", "/v1/nodes?role=manager", admin);
  await call("node by hostname", "GET", "/v1/nodes/parity-1", admin);
  await call("drain", "PATCH", `/v1/nodes/${again.nodeId}?version=2`, { ...admin, body: { availability: "drain", labelAdd: { zone: "a" } } });
  await call("drain stale", "PATCH", `/v1/nodes/${again.nodeId}?version=2`, { ...admin, body: { availability: "active" } });
  await call("remove ready", "DELETE", `/v1/nodes/${again.nodeId}`, admin);
  await call("remove forced", "DELETE", `/v1/nodes/${again.nodeId}?force=true`, admin);
  await call("heartbeat after removal", "POST", "/v1/agent/heartbeat", { token: again.credential });
  await call("rotate", "POST", "/v1/swarm/join-tokens/worker/rotate", admin);
  await call("join with rotated token", "POST", "/v1/agent/join", { token: joinTokens.worker, body: { description: nodeDescription({ machineId: "parity-machine-4" }) } });
  await call("malformed json", "PATCH", "/v1/swarm?version=2", { ...admin, raw: "{" });
  await call("not json", "PATCH", "/v1/swarm?version=2", { ...admin, raw: "a=1", contentType: "text/plain" });
  // Just over the 1 MiB limit: the whole body fits the loopback socket's buffers before the server answers
  // 413 and closes, so the client reads the answer instead of failing its write (EPIPE) when it loses that race.
  await call("too large", "POST", "/v1/tokens", { ...admin, raw: JSON.stringify({ name: "x".repeat(1024 * 1024 + 1024), scope: "read" }) });
  await call("no route", "GET", "/v1/nothing", admin);
  await call("wrong method", "PUT", "/v1/nodes", admin);
  await call("tokens", "GET", "/v1/tokens", admin);
  await call("revoke read token", "DELETE", `/v1/tokens/${ro.id}`, admin);
  await call("revoked read token", "GET", "/v1/swarm", { token: ro.token });
  await call("revoke last admin", "DELETE", "/v1/tokens/tok_root", admin);
  await call("openapi", "GET", "/openapi.json");
  return steps;
}

describe("Node and Workers give the same answers", () => {
  const jwtKey = generateJwtSecret();
  let node: Started;
  let worker: Started;
  let adminToken: string;

  beforeAll(async () => {
    adminToken = await rootAdminToken(await importClusterKeys(jwtKey));
    [node, worker] = await Promise.all([startNodeServer({ stateDir: memoryDir("shoal-parity-"), jwtKey }), startWorker({ jwtKey })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([node?.stop(), worker?.stop()]);
  });

  it("runs the scenario on both and compares every answer", async () => {
    const onNode = await scenario(node.url, adminToken);
    const onWorker = await scenario(worker.url, adminToken);
    expect(onNode.length).toBeGreaterThan(35);
    for (let i = 0; i < onNode.length; i++) expect(onWorker[i], onNode[i]!.step).toEqual(onNode[i]);
    // Sanity: the scenario exercised successes and each kind of refusal.
    const statuses = new Set(onNode.map((s) => s.status));
    for (const s of [200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415]) expect(statuses).toContain(s);
  });

  it("both serve the same agent bundle, and an installer that checks its SHA-256", async () => {
    const nodeBundle = await (await fetch(`${node.url}/v1/agent/bundle`)).text();
    const workerBundle = await (await fetch(`${worker.url}/v1/agent/bundle`)).text();
    expect(nodeBundle.length).toBeGreaterThan(100_000);
    expect(workerBundle).toBe(nodeBundle);
    const sha = createHash("sha256").update(nodeBundle).digest("hex");
    for (const s of [node, worker]) {
      const script = await (await fetch(`${s.url}/install.sh`)).text();
      expect(script).toContain(`\n  bundle_sha256=${sha}\n`);
      expect(script).toContain(`\n  url='${s.url}'\n`);
    }
  });

  it("the Worker's scheduled handler (the safety-net reconcile) runs", async () => {
    const res = await fetch(`${worker.url}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`);
    expect(res.status).toBe(200);
    expect(worker.output()).not.toMatch(/"level":"error"/);
  });
});
