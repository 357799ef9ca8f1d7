import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { beginLivenessGrace } from "../../src/db/cluster.js";
import { requireCluster } from "../../src/http/access.js";
import { LocalLiveness } from "../../src/runtime/local-liveness.js";
import { createTestApp, joinNode, nodeDescription, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const get = (path: string) => t.call("GET", path, { token: t.tokens.read });
const eventsOf = async () => (await t.client.execute("SELECT type, action, actor_id FROM events ORDER BY id")).rows.map((r) => `${r.type}:${r.action}`);

describe("join", () => {
  it("creates a node with the token's role and returns a working credential", async () => {
    const res = await t.call("POST", "/v1/agent/join", {
      token: t.tokens.joinManager,
      body: { description: nodeDescription({ hostname: "mgr-1", engine: { version: "20.10.24", labels: { disk: "ssd" } } }) },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ nodeId: expect.stringMatching(/^node_[a-v0-9]{20}$/), heartbeatPeriodMs: 2000 });
    const node = (await get(`/v1/nodes/${res.body.nodeId}`)).body;
    expect(node).toMatchObject({
      version: 1,
      spec: { role: "manager", availability: "active", labels: {} },
      description: { hostname: "mgr-1", platform: { os: "linux", architecture: "x86_64" }, engine: { labels: { disk: "ssd" } } },
      status: { state: "ready" },
    });
    const hb = await t.call("POST", "/v1/agent/heartbeat", { token: res.body.credential });
    expect(hb.status).toBe(200);
    expect(hb.body).toMatchObject({ nodeId: res.body.nodeId, state: "ready", heartbeatPeriodMs: 2000 });
    expect(await eventsOf()).toEqual(["node:join", "node:ready"]);
  });

  it("re-joining the same machine keeps the node and revokes the old credential", async () => {
    const desc = nodeDescription();
    const first = await t.call("POST", "/v1/agent/join", { token: t.tokens.joinWorker, body: { description: desc } });
    const again = await t.call("POST", "/v1/agent/join", {
      token: t.tokens.joinWorker,
      body: { description: { ...desc, hostname: "renamed" } },
    });
    expect(again.status).toBe(200);
    expect(again.body.nodeId).toBe(first.body.nodeId);
    expect((await get("/v1/nodes")).body).toHaveLength(1);
    expect((await get(`/v1/nodes/${first.body.nodeId}`)).body.description.hostname).toBe("renamed");
    expect((await t.call("POST", "/v1/agent/heartbeat", { token: first.body.credential })).status).toBe(401);
    expect((await t.call("POST", "/v1/agent/heartbeat", { token: again.body.credential })).status).toBe(200);
  });

  it("concurrent joins of one machine make one node", async () => {
    const desc = nodeDescription();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => t.call("POST", "/v1/agent/join", { token: t.tokens.joinWorker, body: { description: desc } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.nodeId)).size).toBe(1);
    expect((await get("/v1/swarm")).body.status.nodeCount).toBe(1);
  });

  it("a worker token cannot join as a manager", async () => {
    const res = await t.call("POST", "/v1/agent/join", {
      token: t.tokens.joinWorker,
      body: { role: "manager", description: nodeDescription() },
    });
    expect(res.status).toBe(403);
    expect((await get("/v1/nodes")).body).toEqual([]);
  });

  it("a rotated token is refused for new joins but joined nodes keep working", async () => {
    const node = await joinNode(t);
    await t.call("POST", "/v1/swarm/join-tokens/worker/rotate", { token: t.tokens.admin });
    const res = await t.call("POST", "/v1/agent/join", { token: t.tokens.joinWorker, body: { description: nodeDescription() } });
    expect(res.status).toBe(401);
    expect((await t.call("POST", "/v1/agent/heartbeat", { token: node.credential })).status).toBe(200);
    const fresh = (await t.call("GET", "/v1/swarm/join-tokens", { token: t.tokens.admin })).body.worker;
    expect((await t.call("POST", "/v1/agent/join", { token: fresh, body: { description: nodeDescription() } })).status).toBe(201);
  });

  it.each([
    ["machineId", { machineId: "x" }, /at least 8|>=8/],
    ["hostname", { hostname: "bad host" }, /hostname/],
    ["addr", { addr: "300.1.1.1" }, /IPv4 or IPv6/],
    ["resources.nanoCpus", { resources: { nanoCpus: -1, memoryBytes: 1 } }, />=0/],
    ["engine.labels.bad key", { engine: { version: "1", labels: { "bad key": "x" } } }, /no "=" and no whitespace/],
    ["platform.kernel", { platform: { os: "linux", architecture: "x86_64", kernel: "6" } }, /unknown field/],
  ])("rejects a bad %s", async (field, override, message) => {
    const res = await t.call("POST", "/v1/agent/join", { token: t.tokens.joinWorker, body: { description: nodeDescription(override) } });
    expect(res.status).toBe(400);
    const error = res.body.errors.find((e: { path: string }) => e.path === `body.description.${field}`);
    expect(error, JSON.stringify(res.body.errors)).toBeDefined();
    expect(error.message).toMatch(message);
    expect((await get("/v1/nodes")).body).toEqual([]);
  });
});

describe("liveness", () => {
  it("a silent node goes down after the missed heartbeats and comes back on its next heartbeat", async () => {
    const node = await joinNode(t);
    t.clock.advance(5_000);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
    t.clock.advance(1_500);
    const down = (await get(`/v1/nodes/${node.id}`)).body;
    expect(down.status).toMatchObject({ state: "down", message: "heartbeat failure" });
    const hb = await t.call("POST", "/v1/agent/heartbeat", { token: node.credential });
    expect(hb.body.state).toBe("ready");
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
    expect(await eventsOf()).toEqual(["node:join", "node:ready", "node:down", "node:ready"]);
  });

  it("heartbeats keep a node ready", async () => {
    const node = await joinNode(t);
    for (let i = 0; i < 10; i++) {
      t.clock.advance(2_000);
      expect((await t.call("POST", "/v1/agent/heartbeat", { token: node.credential })).status).toBe(200);
    }
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
  });

  it("no node is marked down during the grace after a control-plane start", async () => {
    const node = await joinNode(t);
    await beginLivenessGrace(t.db, t.keys.clusterId, t.clock.now() + 12_000);
    t.clock.advance(11_000);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
    t.clock.advance(1_500);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("down");
  });

  /** The Node runtime's process-local view of liveness, on the test's clock. */
  async function withLocalLiveness() {
    const local = new LocalLiveness(250, t.clock.now());
    t.deps.livenessHold = (c, now, nodeId) => local.holdUntil(c, now, nodeId);
    t.deps.nodeCalledIn = (nodeId, now) => local.nodeCalledIn(nodeId, now);
    expect((await requireCluster(t.deps)).heartbeatPeriodMs).toBe(2000);
    return {
      runFor: async (ms: number) => {
        for (let left = ms; left > 0; left -= 250) {
          t.clock.advance(250);
          local.tick(await requireCluster(t.deps), t.clock.now());
        }
      },
    };
  }

  it("no node is marked down by a control plane that just stalled: it holds liveness for one allowance", async () => {
    const node = await joinNode(t);
    const { runFor } = await withLocalLiveness();
    await runFor(5_000);
    // The event loop blocks for 7 s: the node's heartbeats would wait in the socket all along.
    t.clock.advance(7_000);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
    await runFor(5_750);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
    // A full allowance after the stall with still no heartbeat: down, as without a stall.
    await runFor(500);
    expect((await get(`/v1/nodes/${node.id}`)).body.status).toMatchObject({ state: "down", message: "heartbeat failure" });
  });

  it("a node whose request arrived is not marked down while its lease write has not landed", async () => {
    const node = await joinNode(t);
    const { runFor } = await withLocalLiveness();
    await runFor(4_000);
    // A request that authenticates and then writes nothing, as a heartbeat still waiting for the store.
    expect((await t.call("POST", "/v1/agent/status", { token: node.credential, body: [] })).status).toBe(400);
    await runFor(5_750);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("ready");
    await runFor(500);
    expect((await get(`/v1/nodes/${node.id}`)).body.status.state).toBe("down");
  });

  it("the period handed to agents grows with the cluster", async () => {
    await t.call("PATCH", "/v1/swarm?version=1", { token: t.tokens.admin, body: { maxHeartbeatsPerSecond: 2 } });
    const nodes = [];
    for (let i = 0; i < 10; i++) nodes.push(await joinNode(t));
    const hb = await t.call("POST", "/v1/agent/heartbeat", { token: nodes[0]!.credential });
    expect(hb.body.heartbeatPeriodMs).toBe(5000);
    expect((await get("/v1/swarm")).body.status).toMatchObject({ nodeCount: 10, heartbeatPeriodMs: 5000, downAfterMs: 15000 });
  });

  it("a heartbeat can update the node description", async () => {
    const node = await joinNode(t);
    const res = await t.call("POST", "/v1/agent/heartbeat", {
      token: node.credential,
      body: { description: { ...nodeDescription(), machineId: undefined, engine: { version: "24.0.0", labels: { gpu: "1" } } } },
    });
    expect(res.status).toBe(200);
    const after = (await get(`/v1/nodes/${node.id}`)).body;
    expect(after.description.engine).toEqual({ version: "24.0.0", labels: { gpu: "1" } });
    expect(after.version).toBe(2);
  });
});

describe("node update", () => {
  it("changes availability, role and labels with the version", async () => {
    const node = await joinNode(t);
    const res = await t.call("PATCH", `/v1/nodes/${node.id}?version=1`, {
      token: t.tokens.admin,
      body: { availability: "drain", role: "manager", labelAdd: { zone: "a", tier: "web" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 2, spec: { availability: "drain", role: "manager", labels: { zone: "a", tier: "web" } } });
    const rm = await t.call("PATCH", `/v1/nodes/${node.id}?version=2`, { token: t.tokens.admin, body: { labelRm: ["tier"], role: "worker" } });
    expect(rm.body.spec).toEqual({ availability: "drain", role: "worker", labels: { zone: "a" } });
    const stale = await t.call("PATCH", `/v1/nodes/${node.id}?version=2`, { token: t.tokens.admin, body: { availability: "active" } });
    expect(stale.status).toBe(409);
    expect((await get(`/v1/nodes/${node.id}`)).body.spec.availability).toBe("drain");
  });

  it("finds nodes by hostname and id prefix, and says when a prefix is ambiguous", async () => {
    const a = await joinNode(t, { hostname: "alpha" });
    await joinNode(t, { hostname: "beta" });
    expect((await get("/v1/nodes/alpha")).body.id).toBe(a.id);
    expect((await get(`/v1/nodes/${a.id.slice(0, 12)}`)).body.id).toBe(a.id);
    const ambiguous = await get("/v1/nodes/node_");
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.detail).toMatch(/ambiguous/);
    expect((await get("/v1/nodes/node_zzzzzzzz")).status).toBe(404);
    expect((await get("/v1/nodes/bad%20id")).status).toBe(400);
  });

  it("lists with filters", async () => {
    await joinNode(t, { hostname: "web-1" });
    await joinNode(t, { hostname: "web-2" });
    await t.call("POST", "/v1/agent/join", { token: t.tokens.joinManager, body: { description: nodeDescription({ hostname: "mgr" }) } });
    expect((await get("/v1/nodes?name=web")).body.map((n: any) => n.description.hostname)).toEqual(["web-1", "web-2"]);
    expect((await get("/v1/nodes?role=manager")).body.map((n: any) => n.description.hostname)).toEqual(["mgr"]);
    expect((await get("/v1/nodes?role=manager&role=worker")).body).toHaveLength(3);
    const bad = await get("/v1/nodes?colour=red");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("query.colour");
  });
});

describe("node remove", () => {
  it("refuses a ready node unless forced, and revokes the credential at once", async () => {
    const node = await joinNode(t);
    const refused = await t.call("DELETE", `/v1/nodes/${node.id}`, { token: t.tokens.admin });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/ready/);
    expect((await t.call("DELETE", `/v1/nodes/${node.id}?force=true`, { token: t.tokens.admin })).status).toBe(204);
    expect((await t.call("POST", "/v1/agent/heartbeat", { token: node.credential })).status).toBe(401);
    expect((await get("/v1/swarm")).body.status.nodeCount).toBe(0);
    expect(await eventsOf()).toEqual(["node:join", "node:ready", "node:remove"]);
  });

  it("a node leaves with its own credential: removed, and the credential revoked", async () => {
    const node = await joinNode(t);
    expect((await t.call("POST", "/v1/agent/leave", { token: t.tokens.admin })).status).toBe(403);
    expect((await t.call("POST", "/v1/agent/leave", { token: node.credential })).status).toBe(204);
    expect((await get(`/v1/nodes/${node.id}`)).status).toBe(404);
    expect((await t.call("POST", "/v1/agent/leave", { token: node.credential })).status).toBe(401);
    expect(await eventsOf()).toEqual(["node:join", "node:ready", "node:remove"]);
  });

  it("removes a down node without force", async () => {
    const node = await joinNode(t);
    t.clock.advance(10_000);
    expect((await t.call("DELETE", `/v1/nodes/${node.id}`, { token: t.tokens.admin })).status).toBe(204);
    expect((await get(`/v1/nodes/${node.id}`)).status).toBe(404);
  });
});

describe("node list filters", () => {
  it("ANDs repeated label filters, as docker does (services and nodes alike)", async () => {
    const both = await joinNode(t, { hostname: "both" });
    const one = await joinNode(t, { hostname: "one" });
    await t.call("PATCH", `/v1/nodes/${both.id}?version=1`, { token: t.tokens.admin, body: { labelAdd: { zone: "a", tier: "web" } } });
    await t.call("PATCH", `/v1/nodes/${one.id}?version=1`, { token: t.tokens.admin, body: { labelAdd: { zone: "a" } } });
    const hostnames = async (query: string) => ((await get(`/v1/nodes?${query}`)).body as { description: { hostname: string } }[]).map((n) => n.description.hostname).sort();
    expect(await hostnames("node.label=zone%3Da")).toEqual(["both", "one"]);
    expect(await hostnames("node.label=zone%3Da&node.label=tier%3Dweb")).toEqual(["both"]);
    expect(await hostnames("node.label=tier&node.label=zone%3Db")).toEqual([]);
    expect(await hostnames("name=both&name=one&node.label=tier")).toEqual(["both"]);
  });
});
