import { describe, expect, it } from "vitest";
import { LogRelay, type LogEngine } from "../../agent/src/log-relay.js";
import type { LogBatch, LogSession } from "../../src/protocol/agent-v1.js";

const quiet = { info() {}, warn() {}, error() {} };

/**
 * An engine with one container per task of `backlog` (running, unless `states` says otherwise); its backlog is
 * `backlog`, a followed stream sends `followed` then waits. Tests add containers and change states as they go.
 */
function fakeEngine(backlog: Record<string, string>, followed: Record<string, string> = {}, states: Record<string, string> = {}) {
  const calls: { id: string; follow: boolean; since?: string; tail?: number | "all" }[] = [];
  const engine: LogEngine = {
    listContainers: async (o) => {
      const taskId = o?.labelFilters?.[0]?.split("=")[1] ?? "";
      return taskId in backlog ? [{ Id: `c-${taskId}`, Labels: {}, State: states[taskId] ?? "running" } as never] : [];
    },
    inspectContainer: async () => ({ Config: { Tty: false } }) as never,
    streamLogs: async (id, o, onChunks, signal) => {
      calls.push({ id, follow: o.follow, since: o.since, tail: o.tail });
      const taskId = id.slice(2);
      const text = o.follow ? followed[taskId] : backlog[taskId];
      // Lines with ERR are the container's stderr.
      if (text) onChunks(text.split(/(?<=\n)/).map((l) => ({ stream: l.includes("ERR") ? "stderr" : "stdout", text: l })));
      if (o.follow) await new Promise((r) => signal.addEventListener("abort", r));
    },
  };
  return { engine, calls, backlog, followed, states };
}

const session = (over: Partial<LogSession> = {}): LogSession => ({ id: "log_1", taskIds: ["task_a", "task_b"], follow: false, tail: 2, sinceMs: null, ...over });

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
};

describe("LogRelay", () => {
  it("sends each task's backlog as stamped lines, then says it caught up; a task without a container sends nothing", async () => {
    const { engine, calls } = fakeEngine({ task_a: "2026-01-01T00:00:01.000000000Z one\n2026-01-01T00:00:02.000000000Z ERR two\n" });
    const batches: LogBatch[] = [];
    const relay = new LogRelay(engine, async (b) => (batches.push(b), { open: !b.caughtUp }), quiet);
    relay.set([session()]);
    await until(() => batches.some((b) => b.caughtUp));
    expect(calls).toEqual([{ id: "c-task_a", follow: false, since: undefined, tail: 2 }]);
    expect(batches.flatMap((b) => b.lines)).toEqual([
      { taskId: "task_a", stream: "stdout", time: "2026-01-01T00:00:01.000000000Z", text: "one" },
      { taskId: "task_a", stream: "stderr", time: "2026-01-01T00:00:02.000000000Z", text: "ERR two" },
    ]);
    expect(batches.at(-1)!.caughtUp).toBe(true);
  });

  it("following, reads on from one nanosecond after the last line, and stops when the session is no longer listed", async () => {
    const { engine, calls } = fakeEngine({ task_a: "2026-01-01T00:00:01.000000000Z old\n" }, { task_a: "2026-01-01T00:00:05.000000000Z new\n" });
    const batches: LogBatch[] = [];
    const relay = new LogRelay(engine, async (b) => (batches.push(b), { open: true }), quiet);
    relay.set([session({ follow: true, taskIds: ["task_a"], sinceMs: Date.parse("2026-01-01T00:00:00Z") })]);
    await until(() => batches.flatMap((b) => b.lines).some((l) => l.text === "new"));
    expect(calls).toEqual([
      { id: "c-task_a", follow: false, since: "1767225600.000000000", tail: 2 },
      { id: "c-task_a", follow: true, since: "1767225601.000000001", tail: "all" },
    ]);
    relay.set([]);
    const sent = batches.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(batches.length).toBe(sent);
  });

  it("stops a followed session whose post answers that it is over", async () => {
    const { engine } = fakeEngine({ task_a: "" }, { task_a: "2026-01-01T00:00:05Z x\n" });
    let posts = 0;
    const relay = new LogRelay(engine, async () => (posts++, { open: false }), quiet);
    relay.set([session({ follow: true, taskIds: ["task_a"] })]);
    await until(() => posts === 1);
    await new Promise((r) => setTimeout(r, 300));
    // The caught-up post was told the session is over: the follow never started.
    expect(posts).toBe(1);
  });

  it("following, reads the whole log of a task the session gains (a scale-up), and of one whose container starts later", async () => {
    const { engine, calls, backlog, followed, states } = fakeEngine({ task_a: "" }, { task_a: "" });
    const batches: LogBatch[] = [];
    const expected = new Set(["task_b", "task_c"]);
    const relay = new LogRelay(engine, async (b) => (batches.push(b), { open: true }), quiet, (taskId) => expected.has(taskId));
    const sinceMs = Date.parse("2026-01-01T00:00:00Z");
    relay.set([session({ follow: true, taskIds: ["task_a"], tail: 0, sinceMs })]);
    await until(() => batches.some((b) => b.caughtUp));
    // The poll lists the session again with a task placed since; its container is not created yet, then created, then started.
    relay.set([session({ follow: true, taskIds: ["task_a", "task_b"], tail: 0, sinceMs })]);
    await new Promise((r) => setTimeout(r, 600));
    backlog.task_b = "";
    followed.task_b = "2026-01-01T00:00:07.000000000Z first line of b\n";
    states.task_b = "created";
    await new Promise((r) => setTimeout(r, 600));
    expect(calls.filter((c) => c.id === "c-task_b")).toEqual([]);
    states.task_b = "running";
    await until(() => batches.flatMap((b) => b.lines).some((l) => l.text === "first line of b"));
    // Read whole (not the session's tail 0): every line of a task that started after the reader began is new to it.
    expect(calls.filter((c) => c.id === "c-task_b")).toEqual([{ id: "c-task_b", follow: true, since: "1767225600.000000000", tail: "all" }]);
    expect(batches.flatMap((b) => b.lines).find((l) => l.text === "first line of b")).toMatchObject({ taskId: "task_b", stream: "stdout" });
    // Listed again unchanged: nothing read twice.
    relay.set([session({ follow: true, taskIds: ["task_a", "task_b"], tail: 0, sinceMs })]);
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.filter((c) => c.id === "c-task_b")).toHaveLength(1);
    relay.set([]);
  });

  it("a task this host neither has a container of nor runs is given up on; one it runs is waited for until the session ends", async () => {
    const looked: string[] = [];
    const { engine } = fakeEngine({ task_a: "" }, { task_a: "" });
    const counting: LogEngine = { ...engine, listContainers: async (o) => (looked.push(o?.labelFilters?.[0] ?? ""), engine.listContainers(o)) };
    const relay = new LogRelay(counting, async () => ({ open: true }), quiet, (taskId) => taskId === "task_run");
    relay.set([session({ follow: true, taskIds: ["task_a", "task_gone", "task_run"] })]);
    await new Promise((r) => setTimeout(r, 1300));
    const count = (t: string) => looked.filter((l) => l.endsWith(`=${t}`)).length;
    // task_gone: the backlog's look and one more while following, then no more; task_run: every 500 ms.
    expect(count("task_gone")).toBe(2);
    expect(count("task_run")).toBeGreaterThanOrEqual(3);
    relay.set([]);
    await new Promise((r) => setTimeout(r, 100));
    const after = count("task_run");
    await new Promise((r) => setTimeout(r, 700));
    expect(count("task_run")).toBe(after);
  });
});
