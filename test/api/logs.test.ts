import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

type Node = Awaited<ReturnType<typeof joinNode>>;

/** Two nodes, a service of 2 replicas (one task on each), both running. */
async function twoNodeService() {
  const a = await joinNode(t, { hostname: "host-a" });
  const b = await joinNode(t, { hostname: "host-b" });
  const created = await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", replicas: 2, task: { container: { image: "busybox:1" } } } });
  expect(created.status).toBe(201);
  const taskOf = async (n: Node) => {
    const task = (await t.call("GET", "/v1/agent/assignments?since=-1", { token: n.credential })).body.tasks[0];
    await t.call("POST", "/v1/agent/status", { token: n.credential, body: { updates: [{ taskId: task.id, state: "running" }] } });
    return task as { id: string; slot: number };
  };
  return { a, b, ta: await taskOf(a), tb: await taskOf(b) };
}

/** The sessions a node's long-poll hands it (an agent passing `logSince` gets an answer at once when they change). */
const sessionsOf = async (n: Node, logSince = "") =>
  (await t.call("GET", `/v1/agent/assignments?since=-1&waitMs=0&logSince=${logSince}`, { token: n.credential })).body as {
    logs: { id: string; taskIds: string[]; follow: boolean; tail: number | null; sinceMs: number | null }[];
    logToken: string;
  };

const post = (n: Node, body: unknown) => t.call("POST", "/v1/agent/logs", { token: n.credential, body });

/** Reads NDJSON records from a streamed answer as they arrive. */
function records(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const seen: any[] = [];
  return {
    seen,
    /** Reads until `until` holds for a record (or the stream ends). */
    async readUntil(until: (r: any) => boolean): Promise<any[]> {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return seen;
        buffered += decoder.decode(value, { stream: true });
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines.filter(Boolean)) {
          seen.push(JSON.parse(line));
          if (until(seen.at(-1))) return seen;
        }
      }
    },
    cancel: () => reader.cancel(),
  };
}

const openLogs = (query: string, token = t.tokens.read, ref = "web") =>
  t.app.request(`/v1/services/${ref}/logs${query}`, { headers: { authorization: `Bearer ${token}` } });

describe("service logs", () => {
  it("relays both nodes' lines, merged by time, stdout and stderr apart, and ends when both caught up", async () => {
    const { a, b, ta, tb } = await twoNodeService();
    const res = await openLogs("?tail=2");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const stream = records(res);

    // Each node is handed the session with only its own task, at once.
    const [sa, sb] = [await sessionsOf(a), await sessionsOf(b)];
    expect(sa.logs).toEqual([{ id: expect.stringMatching(/^log_/), taskIds: [ta.id], follow: false, tail: 2, sinceMs: null }]);
    expect(sb.logs[0]!.taskIds).toEqual([tb.id]);
    const sessionId = sa.logs[0]!.id;

    expect(
      (await post(a, { sessionId, lines: [{ taskId: ta.id, stream: "stdout", time: "2026-01-01T00:00:03.000000000Z", text: "a3" }, { taskId: ta.id, stream: "stderr", time: "2026-01-01T00:00:01.500000000Z", text: "a-err" }] })).body,
    ).toEqual({ open: true });
    expect((await post(a, { sessionId, lines: [], caughtUp: true })).body).toEqual({ open: false });
    await post(b, { sessionId, lines: [{ taskId: tb.id, stream: "stdout", time: "2026-01-01T00:00:01.000000001Z", text: "b1" }], caughtUp: true });

    const all = await stream.readUntil((r) => r.kind === "end");
    expect(all[0]).toMatchObject({ kind: "tasks", replicas: 2 });
    expect(all[0].tasks.map((x: any) => [x.id, x.nodeName, x.serviceName]).sort()).toEqual([[ta.id, "host-a", "web"], [tb.id, "host-b", "web"]].sort());
    expect(all.slice(1).map((r) => (r.kind === "line" ? `${r.stream}:${r.text}` : r.kind))).toEqual(["stdout:b1", "stderr:a-err", "stdout:a3", "end"]);
    // Once its reader is done, the session is gone: no node serves it, a late batch is told so.
    expect((await sessionsOf(a)).logs).toEqual([]);
    expect((await post(b, { sessionId, lines: [] })).body).toEqual({ open: false });
  });

  it("a poll waiting with the agent's logSince answers at once when a session opens", async () => {
    const { a } = await twoNodeService();
    const first = await sessionsOf(a);
    expect(first.logs).toEqual([]);
    const poll = t.call("GET", `/v1/agent/assignments?since=-1&waitMs=0`, { token: a.credential }).then(
      async (r) => (await t.call("GET", `/v1/agent/assignments?since=${r.body.generation}&waitMs=5000&logSince=${first.logToken}`, { token: a.credential })).body,
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    const res = await openLogs("?follow=true");
    const woke = await poll;
    // Woken by the session, not by the poll's 1 s re-check of the store.
    expect(performance.now() - started).toBeLessThan(500);
    expect(woke.logs).toHaveLength(1);
    expect(woke.logs[0].follow).toBe(true);
    await res.body!.cancel();
  });

  it("follows new lines until the client goes away; then the session is over for its nodes", async () => {
    const { a, b, ta } = await twoNodeService();
    const stream = records(await openLogs("?follow=1"));
    const sessionId = (await sessionsOf(a)).logs[0]!.id;
    await post(a, { sessionId, lines: [], caughtUp: true });
    await post(b, { sessionId, lines: [], caughtUp: true });
    await stream.readUntil((r) => r.kind === "tasks");
    const sent = performance.now();
    expect((await post(a, { sessionId, lines: [{ taskId: ta.id, stream: "stdout", time: "2026-01-01T00:00:09Z", text: "later" }] })).body).toEqual({ open: true });
    const line = (await stream.readUntil((r) => r.kind === "line")).at(-1);
    expect(line).toMatchObject({ kind: "line", taskId: ta.id, text: "later" });
    expect(performance.now() - sent).toBeLessThan(2000);
    await stream.cancel();
    for (let i = 0; i < 50 && (await sessionsOf(a)).logs.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await sessionsOf(a)).logs).toEqual([]);
    expect((await post(a, { sessionId, lines: [] })).body).toEqual({ open: false });
  });

  it("following a service picks up tasks placed after it began: a scale-up onto a node new to the session, a replaced task", async () => {
    const { a, b, ta, tb } = await twoNodeService();
    const c = await joinNode(t, { hostname: "host-c" });
    const stream = records(await openLogs("?follow=true&tail=0"));
    const sessionId = (await sessionsOf(a)).logs[0]!.id;
    await post(a, { sessionId, lines: [], caughtUp: true });
    await post(b, { sessionId, lines: [], caughtUp: true });
    expect((await sessionsOf(c)).logs).toEqual([]);
    const before = await sessionsOf(c);

    // Scaled to 3: the new task goes to host-c (spread); once its agent took it, the reader names it and hands host-c the session.
    expect((await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { web: 3 } } })).status).toBe(200);
    const tc = (await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: c.credential })).body.tasks[0] as { id: string; slot: number };
    await t.call("POST", "/v1/agent/status", { token: c.credential, body: { updates: [{ taskId: tc.id, state: "accepted" }] } });
    const announced = (await stream.readUntil((r) => r.kind === "tasks" && r.tasks.some((x: any) => x.id === tc.id))).at(-1);
    expect(announced.tasks).toEqual([{ id: tc.id, serviceId: expect.any(String), serviceName: "web", slot: 3, nodeId: c.id, nodeName: "host-c" }]);
    // host-c's waiting poll (with its agent's logSince) answers with the session: its token changed.
    const woke = await t.call("GET", `/v1/agent/assignments?since=-1&waitMs=5000&logSince=${before.logToken}`, { token: c.credential });
    expect(woke.body.logs).toEqual([{ id: sessionId, taskIds: [tc.id], follow: true, tail: 0, sinceMs: null }]);
    await post(c, { sessionId, lines: [{ taskId: tc.id, stream: "stdout", time: "2026-01-01T00:00:01Z", text: "c starts" }] });
    expect((await stream.readUntil((r) => r.kind === "line")).at(-1)).toMatchObject({ taskId: tc.id, text: "c starts" });

    // host-b's task fails: its replacement is named too, and its node's row lists both (the failed task's container may still be read).
    await t.call("POST", "/v1/agent/status", { token: b.credential, body: { updates: [{ taskId: tb.id, state: "failed", error: "boom", exitCode: 1 }] } });
    let replacement: { id: string; nodeId: string } | undefined;
    for (let i = 0; i < 40 && !replacement; i++) {
      for (const n of [a, b, c]) {
        const next = (await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: n.credential })).body.tasks.find((x: any) => ![ta.id, tb.id, tc.id].includes(x.id));
        if (next) {
          await t.call("POST", "/v1/agent/status", { token: n.credential, body: { updates: [{ taskId: next.id, state: "accepted" }] } });
          replacement = { id: next.id, nodeId: n.id };
        }
      }
      if (!replacement) await new Promise((r) => setTimeout(r, 50));
    }
    expect(replacement).toBeDefined();
    const named = (await stream.readUntil((r) => r.kind === "tasks" && r.tasks.some((x: any) => x.id === replacement!.id))).at(-1);
    expect(named.tasks.map((x: any) => x.slot)).toEqual([tb.slot]);
    const node = [a, b, c].find((n) => n.id === replacement!.nodeId)!;
    const listed = (await sessionsOf(node)).logs.find((l) => l.id === sessionId)!;
    const own = ([[ta, a], [tb, b], [tc, c]] as const).filter(([, n]) => n.id === node.id).map(([x]) => x.id);
    expect(listed.taskIds).toEqual([...own, replacement!.id]);
    await stream.cancel();
  });

  it("docker service logs -f (the Docker API) picks up a task placed after it began, as shoal's own route does", async () => {
    const { a, b } = await twoNodeService();
    const c = await joinNode(t, { hostname: "host-c" });
    const res = await t.app.request("/v1.41/services/web/logs?follow=1&stdout=1&stderr=1&tail=0", { headers: { authorization: `Bearer ${t.tokens.read}` } });
    expect(res.status).toBe(200);
    const sessionId = (await sessionsOf(a)).logs[0]!.id;
    await post(a, { sessionId, lines: [], caughtUp: true });
    await post(b, { sessionId, lines: [], caughtUp: true });
    expect((await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { web: 3 } } })).status).toBe(200);
    const tc = (await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: c.credential })).body.tasks[0] as { id: string };
    await t.call("POST", "/v1/agent/status", { token: c.credential, body: { updates: [{ taskId: tc.id, state: "running" }] } });
    // Within the relist period, host-c is handed the reader's session for its new task.
    let listed: { id: string; taskIds: string[] } | undefined;
    for (let i = 0; i < 160 && !listed; i++) {
      listed = (await sessionsOf(c)).logs.find((l) => l.id === sessionId);
      if (!listed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(listed?.taskIds).toEqual([tc.id]);
    await post(c, { sessionId, lines: [{ taskId: tc.id, stream: "stdout", time: "2026-01-01T00:00:01Z", text: "c starts" }] });
    const reader = res.body!.getReader();
    let bytes = Buffer.alloc(0);
    while (!bytes.includes("c starts")) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes = Buffer.concat([bytes, Buffer.from(value)]);
    }
    // One multiplexed frame on stdout (stream 1): the 8-byte header, then the line.
    expect(bytes[0]).toBe(1);
    expect(bytes.subarray(8).toString()).toBe("c starts\n");
    await reader.cancel();
  }, 20_000);

  it("a failed task stays in its node's ended list (its container is kept for its logs) and its logs are asked for; not once its service is removed", async () => {
    const { a, ta } = await twoNodeService();
    await t.call("POST", "/v1/agent/status", { token: a.credential, body: { updates: [{ taskId: ta.id, state: "failed", error: "boom", exitCode: 1 }] } });
    const answer = async () => (await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: a.credential })).body;
    expect((await answer()).ended).toEqual([ta.id]);
    expect((await answer()).tasks.map((x: any) => x.id)).not.toContain(ta.id);
    const res = await openLogs("");
    expect((await sessionsOf(a)).logs[0]!.taskIds).toContain(ta.id);
    await res.body!.cancel();
    expect((await t.call("DELETE", "/v1/services/web", { token: t.tokens.admin })).status).toBe(204);
    expect((await answer()).ended).toEqual([]);
  });

  it("names a node that is down in a warning and still ends", async () => {
    const { b } = await twoNodeService();
    const a = (await t.call("GET", "/v1/nodes?name=host-a", { token: t.tokens.read })).body[0];
    // host-a misses its heartbeats; host-b keeps polling.
    t.clock.advance(60_000);
    await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: b.credential });
    expect((await t.call("GET", `/v1/nodes/${a.id}`, { token: t.tokens.read })).body.status.state).toBe("down");
    const stream = records(await openLogs(""));
    const sessionId = (await sessionsOf(b)).logs[0]!.id;
    await post(b, { sessionId, lines: [], caughtUp: true });
    const all = await stream.readUntil((r) => r.kind === "end");
    expect(all.filter((r) => r.kind === "warning")).toEqual([{ kind: "warning", message: "node host-a is not available: its tasks' logs are missing" }]);
  });

  it("a node may send lines of its own tasks only", async () => {
    const { a, b, tb } = await twoNodeService();
    const res = await openLogs("");
    const sessionId = (await sessionsOf(a)).logs[0]!.id;
    const refused = await post(a, { sessionId, lines: [{ taskId: tb.id, stream: "stdout", time: "2026-01-01T00:00:01Z", text: "forged" }] });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: "forbidden", errors: [{ path: "body.lines.0.taskId" }] });
    // A session id that was never opened is simply over.
    expect((await post(b, { sessionId: "log_0000", lines: [] })).body).toEqual({ open: false });
    await res.body!.cancel();
  });

  it("bad input is a 4xx naming the field, and opens no session", async () => {
    const { a } = await twoNodeService();
    const tail = await t.call("GET", "/v1/services/web/logs?tail=-5", { token: t.tokens.read });
    expect(tail.status).toBe(400);
    expect(tail.body.errors[0]).toMatchObject({ path: "query.tail", message: expect.stringMatching(/number of lines/) });
    const since = await t.call("GET", "/v1/services/web/logs?since=yesterday", { token: t.tokens.read });
    expect(since.status).toBe(400);
    expect(since.body.errors[0].path).toBe("query.since");
    const unknown = await t.call("GET", "/v1/services/nope/logs", { token: t.tokens.read });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toBe("service nope not found");
    expect((await t.call("GET", "/v1/tasks/task_0000/logs", { token: t.tokens.read })).status).toBe(404);
    expect((await sessionsOf(a)).logs).toEqual([]);
    const batch = await post(a, { sessionId: "log_1", lines: [{ taskId: "task_1", stream: "stdin", time: "now", text: "x" }] });
    expect(batch.status).toBe(400);
    expect(batch.body.errors.map((e: any) => e.path).sort()).toEqual(["body.lines.0.stream", "body.lines.0.time"]);
  });

  it("read tokens may read logs; node credentials may not, and API tokens may not post lines", async () => {
    const { a } = await twoNodeService();
    expect((await t.call("GET", "/v1/services/web/logs", { token: a.credential })).status).toBe(403);
    expect((await t.call("POST", "/v1/agent/logs", { token: t.tokens.admin, body: { sessionId: "log_1", lines: [] } })).status).toBe(403);
    const res = await openLogs("", t.tokens.admin);
    expect(res.status).toBe(200);
    await res.body!.cancel();
  });
});

describe("service logs through the Docker Engine API", () => {
  /** Docker's multiplexed stream → [stream, payload] frames. */
  const frames = (bytes: Uint8Array) => {
    const out: [number, string][] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4).getUint32(0);
      out.push([bytes[at]!, new TextDecoder().decode(bytes.subarray(at + 8, at + 8 + size))]);
      at += 8 + size;
    }
    return out;
  };

  it("answers docker service logs' request with dockerd's frames: stdout 1, stderr 2, timestamps and the swarm details the CLI reads", async () => {
    const { a, b, ta, tb } = await twoNodeService();
    const res = await t.app.request("/v1.41/services/web/logs?details=1&stdout=1&stderr=1&tail=all&timestamps=1", { headers: { authorization: `Bearer ${t.tokens.read}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.docker.multiplexed-stream");
    const sessionId = (await sessionsOf(a)).logs[0]!.id;
    await post(a, { sessionId, lines: [{ taskId: ta.id, stream: "stderr", time: "2026-01-01T00:00:02.000000000Z", text: "a-err" }], caughtUp: true });
    await post(b, { sessionId, lines: [{ taskId: tb.id, stream: "stdout", time: "2026-01-01T00:00:01.000000000Z", text: "b1" }], caughtUp: true });
    const bare = (id: string) => id.slice(id.indexOf("_") + 1);
    const service = (await t.call("GET", "/v1/services/web", { token: t.tokens.read })).body.id as string;
    const ctx = (node: Node, taskId: string) => `com.docker.swarm.node.id=${bare(node.id)},com.docker.swarm.service.id=${bare(service)},com.docker.swarm.task.id=${bare(taskId)}`;
    expect(frames(new Uint8Array(await res.arrayBuffer()))).toEqual([
      [1, `2026-01-01T00:00:01.000000000Z ${ctx(b, tb.id)} b1\n`],
      [2, `2026-01-01T00:00:02.000000000Z ${ctx(a, ta.id)} a-err\n`],
    ]);
  });

  it("stdout only, by task id; refuses a request for no stream and a bad tail", async () => {
    const { a, ta } = await twoNodeService();
    const res = await t.app.request(`/v1.41/tasks/${ta.id.replace("task_", "")}/logs?stdout=1`, { headers: { authorization: `Bearer ${t.tokens.read}` } });
    const sessionId = (await sessionsOf(a)).logs[0]!.id;
    await post(a, { sessionId, lines: [{ taskId: ta.id, stream: "stderr", time: "2026-01-01T00:00:02.000000000Z", text: "hidden" }, { taskId: ta.id, stream: "stdout", time: "2026-01-01T00:00:03.000000000Z", text: "shown" }], caughtUp: true });
    expect(frames(new Uint8Array(await res.arrayBuffer()))).toEqual([[1, "shown\n"]]);
    expect(await t.call("GET", "/v1.41/services/web/logs", { token: t.tokens.read })).toMatchObject({ status: 400, body: { message: "Bad parameters: you must choose at least one stream" } });
    expect(await t.call("GET", "/v1.41/services/web/logs?stdout=1&tail=-5", { token: t.tokens.read })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/invalid tail/) } });
    expect(await t.call("GET", "/v1.41/services/nope/logs?stdout=1", { token: t.tokens.read })).toMatchObject({ status: 404 });
  });
});
