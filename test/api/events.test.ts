import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertEvent } from "../../src/db/events.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const read = () => ({ token: t.tokens.read });
const names = async (query: string) => {
  const res = await t.call("GET", `/v1/events${query}`, read());
  expect(res.status, res.text).toBe(200);
  return (res.body.events as { name: string }[]).map((e) => e.name);
};

/** Reads an SSE body to its end: the messages, each with its id, event name and parsed data. */
async function readStream(res: Response) {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() && !block.startsWith(":"))
    .map((block) => {
      const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
      return { id: field("id"), event: field("event") ?? "message", data: JSON.parse(field("data") ?? "null") };
    });
}
const stream = (query: string, headers: Record<string, string> = {}) =>
  t.app.request(`/v1/events/stream${query}`, { headers: { authorization: `Bearer ${t.tokens.read}`, ...headers } });

describe("GET /v1/events", () => {
  beforeEach(async () => {
    // Two seconds apart: within the node's lease, so no node.down comes in between.
    await joinNode(t, { hostname: "host-a" });
    t.clock.advance(2000);
    const svc = await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", task: { container: { image: "busybox:1" } } } });
    t.clock.advance(2000);
    // As the rolling-update monitor and stack deploys write them.
    await insertEvent(t.db, t.clock.now(), "service", "update.paused", svc.body.id, { name: "web", message: "update paused: task failed" });
    await insertEvent(t.db, t.clock.now(), "stack", "deploy", "app", { name: "app" });
  });

  it("lists every event in order, docker's shape with a name to match", async () => {
    const res = await t.call("GET", "/v1/events", read());
    expect(res.body.events.map((e: { name: string }) => e.name)).toEqual([
      "node.join",
      "node.ready",
      "service.create",
      "task.create",
      "service.update.paused",
      "stack.deploy",
    ]);
    expect(res.body.events[0]).toMatchObject({ type: "node", action: "join", actor: { attributes: { hostname: "host-a", role: "worker" } }, time: "2026-01-01T00:00:00.000Z" });
    expect(res.body.cursor).toBe(res.body.events.at(-1).id);
  });

  it("filters by type, event pattern or action, service and node, as docker does", async () => {
    expect(await names("?type=node")).toEqual(["node.join", "node.ready"]);
    expect(await names("?type=node&type=stack")).toEqual(["node.join", "node.ready", "stack.deploy"]);
    expect(await names("?event=service.update.*")).toEqual(["service.update.paused"]);
    expect(await names("?event=service.*")).toEqual(["service.create", "service.update.paused"]);
    expect(await names("?event=create")).toEqual(["service.create", "task.create"]);
    expect(await names("?event=create&type=task")).toEqual(["task.create"]);
    expect(await names("?service=web")).toEqual(["service.create", "task.create", "service.update.paused"]);
    expect(await names("?node=host-a")).toEqual(["node.join", "node.ready", "task.create"]);
    expect(await names("?service=nope")).toEqual([]);
  });

  it("since and until take times, Unix seconds and durations; limit and cursor page", async () => {
    expect(await names("?since=1s")).toEqual(["service.update.paused", "stack.deploy"]);
    expect(await names(`?until=${encodeURIComponent("2026-01-01T00:00:01Z")}`)).toEqual(["node.join", "node.ready"]);
    expect(await names(`?since=${Date.parse("2026-01-01T00:00:02Z") / 1000}&until=1s`)).toEqual(["service.create", "task.create"]);
    const first = await t.call("GET", "/v1/events?limit=4", read());
    expect(first.body.events).toHaveLength(4);
    expect(await names(`?after=${first.body.cursor}`)).toEqual(["service.update.paused", "stack.deploy"]);
  });

  it("refuses bad filters with the field named", async () => {
    for (const [query, path] of [
      ["?type=container", "query.type.0"],
      ["?event=a%20b", "query.event.0"],
      ["?since=yesterday", "query.since"],
      ["?limit=0", "query.limit"],
      ["?after=-1", "query.after"],
      ["?filter=x", "query.filter"],
    ]) {
      const res = await t.call("GET", `/v1/events${query}`, read());
      expect(res.status, query).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });
});

describe("GET /v1/events/stream", () => {
  it("replays past events, then ends at until with the cursor", async () => {
    await joinNode(t, { hostname: "host-a" });
    const res = await stream("?since=0&until=0s&type=node");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const messages = await readStream(res);
    expect(messages.map((m) => [m.event, m.data.name ?? m.data.cursor])).toEqual([
      ["message", "node.join"],
      ["message", "node.ready"],
      ["end", 2],
    ]);
    expect(messages.map((m) => m.id)).toEqual(["1", "2", "2"]);
  });

  it("without since streams only what happens from now; resumes after Last-Event-ID", async () => {
    await joinNode(t, { hostname: "host-a" });
    const live = stream(`?until=${(t.clock.now() + 1500) / 1000}`);
    await new Promise((r) => setTimeout(r, 300));
    await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", task: { container: { image: "busybox:1" } } } });
    const messages = await readStream(await live);
    expect(messages.map((m) => m.data.name ?? "end")).toEqual(["service.create", "task.create", "end"]);

    const resumed = await readStream(await stream("?until=0s", { "last-event-id": "2" }));
    expect(resumed.map((m) => m.data.name ?? "end")).toEqual(["service.create", "task.create", "end"]);
  });

  it("refuses bad filters before streaming", async () => {
    const res = await stream("?event=%2A%2A%20x");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
