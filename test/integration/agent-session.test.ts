import { serve, type ServerType } from "@hono/node-server";
import fc from "fast-check";
import { statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nextBackoffMs } from "../../agent/src/backoff.js";
import type { AgentConfig } from "../../agent/src/config.js";
import { Reporter } from "../../agent/src/reporter.js";
import { Session } from "../../agent/src/session.js";
import type { Assignment } from "../../src/protocol/agent-v1.js";
import { createTestApp, silentLogger, type TestApp } from "../helpers/app.js";
import { FakeEngine } from "../helpers/fake-engine.js";
import { memoryDir } from "../helpers/temp.js";

describe("nextBackoffMs", () => {
  it("grows as min(100 ms + 2·previous, 8 s) with jitter in the upper half", () => {
    let prev = 0;
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      prev = nextBackoffMs(prev, () => 1);
      seen.push(prev);
    }
    expect(seen.slice(0, 4)).toEqual([100, 300, 700, 1500]);
    expect(seen.at(-1)).toBe(8000);
    expect(nextBackoffMs(0, () => 0)).toBe(50);
  });

  it("stays within [base/2, base] of base = min(100 + 2·previous, cap)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 100, max: 8000 }), (prev, r, cap) => {
        const base = Math.min(100 + 2 * prev, cap);
        const next = nextBackoffMs(prev, () => r, cap);
        return next >= Math.floor(base / 2) && next <= base;
      }),
    );
  });
});

/** The session of a real agent against a real control plane (the app on a local port), with an in-memory engine. */
describe("Session", () => {
  let t: TestApp;
  let server: ServerType;
  let url: string;
  let joinToken: string;
  const running: { abort: AbortController; done: Promise<void> }[] = [];

  beforeEach(async () => {
    t = await createTestApp();
    server = serve({ fetch: t.app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    joinToken = t.tokens.joinWorker;
  });

  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.abort.abort();
      await r.done;
    }
    await new Promise((resolve) => server.close(resolve));
    t.close();
  });

  const config = (stateDir: string, over: Partial<AgentConfig> = {}): AgentConfig => ({
    command: "join",
    url,
    joinToken,
    stateDir,
    dockerSocket: "/nonexistent",
    addr: "10.0.0.5",
    machineId: "machine-session-test",
    hostname: "host-s",
    logFormat: "text",
    ...over,
  });

  async function start(cfg: AgentConfig, engine = new FakeEngine()) {
    const abort = new AbortController();
    const assignments: Assignment[][] = [];
    let revoked = false;
    const sent: string[] = [];
    const reporter: Reporter = new Reporter(async (u): Promise<unknown> => {
      sent.push(...u.map((x) => `${x.taskId} ${x.state}`));
      return session.reportStatus(u);
    }, silentLogger);
    const session: Session = new Session(cfg, engine, reporter, silentLogger, { assignments: (tasks) => void assignments.push(tasks), revoked: () => void (revoked = true) }, abort.signal);
    const description = await session.describe();
    await session.connect(description);
    const done = session.run(description);
    running.push({ abort, done });
    return { session, reporter, engine, assignments, sent, done, revoked: () => revoked };
  }

  const until = async (what: string, check: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it("joins, keeps the credential (0600), and hears of its assignments at once", async () => {
    const stateDir = memoryDir("shoal-session-");
    const s = await start(config(stateDir));
    expect(statSync(join(stateDir, "credential.json")).mode & 0o777).toBe(0o600);
    await until("the first (empty) answer", () => s.assignments.length === 1);
    expect(s.assignments[0]).toEqual([]);
    const svc = await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", task: { container: { image: "busybox:1" } } } });
    expect(svc.status).toBe(201);
    await until("the assignment", () => s.assignments.length === 2);
    expect(s.assignments[1]!.map((a) => [a.serviceName, a.desiredState, a.spec.task.container.image])).toEqual([["web", "running", "busybox:1"]]);
    const node = await t.call("GET", `/v1/nodes/${s.session.nodeId}`, { token: t.tokens.admin });
    expect(node.body).toMatchObject({ description: { hostname: "host-s" }, status: { state: "ready", addr: "10.0.0.5" } });
  });

  it("runs again on the stored credential, without a join token, as the same node", async () => {
    const stateDir = memoryDir("shoal-session-");
    const first = await start(config(stateDir));
    running.pop()!.abort.abort();
    await first.done;
    const again = await start(config(stateDir, { command: "run", joinToken: undefined }));
    expect(again.session.nodeId).toBe(first.session.nodeId);
    await until("an answer", () => again.assignments.length === 1);
    expect((await t.call("GET", "/v1/nodes", { token: t.tokens.admin })).body).toHaveLength(1);
  });

  it("an unreachable engine: says so instead of polling (the node goes down) and reports its running tasks failed", async () => {
    const s = await start(config(memoryDir("shoal-session-")));
    await until("an answer", () => s.assignments.length === 1);
    s.reporter.report("task_00000000000000000001", "running");
    await s.reporter.flush().catch(() => undefined);
    s.engine.down = "connect ENOENT /var/run/docker.sock";
    await until("the node down", async () => {
      const node = await t.call("GET", `/v1/nodes/${s.session.nodeId}`, { token: t.tokens.admin });
      return node.body.status.state === "down" && /engine unreachable|ENOENT/.test(node.body.status.message);
    });
    // The failed report goes out right after the heartbeat that said the engine is down.
    await until("the task reported failed", () => s.sent.includes("task_00000000000000000001 failed"));
    s.engine.down = undefined;
    await until("the node ready again", async () => (await t.call("GET", `/v1/nodes/${s.session.nodeId}`, { token: t.tokens.admin })).body.status.state === "ready");
  });

  it("a refused credential (the node was removed) ends the session", async () => {
    const s = await start(config(memoryDir("shoal-session-")));
    await until("an answer", () => s.assignments.length === 1);
    expect((await t.call("DELETE", `/v1/nodes/${s.session.nodeId}?force=true`, { token: t.tokens.admin })).status).toBe(204);
    await s.done;
    expect(s.revoked()).toBe(true);
  });
});
