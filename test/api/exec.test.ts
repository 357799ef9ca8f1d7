import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

/** A node running one task of `web`. */
async function runningTask() {
  const node = await joinNode(t, { hostname: "host-a" });
  await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "web", task: { container: { image: "busybox:1" } } } });
  const task = (await t.call("GET", "/v1/agent/assignments?since=-1", { token: node.credential })).body.tasks[0] as { id: string };
  await t.call("POST", "/v1/agent/status", { token: node.credential, body: { updates: [{ taskId: task.id, state: "running" }] } });
  return { node, task };
}

const execsOf = async (credential: string) =>
  (await t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0&logSince=", { token: credential })).body.execs as { id: string; taskId: string; cmd: string[] }[];

const openExec = (taskId: string, cmd: unknown, token = t.tokens.admin) =>
  t.app.request(`/v1/tasks/${taskId}/exec`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ cmd }) });

const recordsOf = async (res: Response) => (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("exec", () => {
  it("hands the command to the task's agent once, relays its output and exit code, and records who ran what", async () => {
    const { node, task } = await runningTask();
    const res = await openExec(task.id, ["sh", "-c", "echo hi; exit 3"]);
    expect(res.status).toBe(200);
    const [exec] = await execsOf(node.credential);
    expect(exec).toEqual({ id: expect.stringMatching(/^exec_/), taskId: task.id, cmd: ["sh", "-c", "echo hi; exit 3"] });
    const post = (body: unknown) => t.call("POST", "/v1/agent/exec", { token: node.credential, body: { execId: exec!.id, ...(body as object) } });
    expect((await post({ output: [] })).status).toBe(409);
    expect((await post({ claim: true })).body).toEqual({ open: true });
    // Claimed: it runs once, and is no longer handed out.
    expect((await post({ claim: true })).body).toEqual({ open: false });
    expect(await execsOf(node.credential)).toEqual([]);
    await post({ output: [{ stream: "stdout", data: "hi\n" }, { stream: "stderr", data: "warn\n" }] });
    expect((await post({ exit: { exitCode: 3 } })).body).toEqual({ open: false });
    expect(await recordsOf(res)).toEqual([
      { kind: "output", stream: "stdout", data: "hi\n" },
      { kind: "output", stream: "stderr", data: "warn\n" },
      { kind: "exit", exitCode: 3 },
    ]);
    const events = (await t.call("GET", "/v1/events?type=task&event=exec", { token: t.tokens.read })).body.events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      name: "task.exec",
      actor: { id: task.id, attributes: { service: "web", node: "host-a", command: '["sh","-c","echo hi; exit 3"]', tokenId: "tok_root" } },
    });
  });

  it("says so when the node does not take the command", async () => {
    const { task } = await runningTask();
    const res = await openExec(task.id, ["true"]);
    // The test clock stands still; the wait is real time.
    expect(await recordsOf(res)).toEqual([{ kind: "error", message: "node host-a did not start the command within 15 s" }]);
  }, 30_000);

  it("admin tokens only; a task that is not running, an empty command or a foreign node are refused", async () => {
    const { node, task } = await runningTask();
    expect((await openExec(task.id, ["true"], t.tokens.read)).status).toBe(403);
    const empty = await openExec(task.id, []);
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).errors[0]).toMatchObject({ path: "body.cmd" });
    expect((await openExec("task_0000", ["true"])).status).toBe(404);
    await t.call("POST", "/v1/agent/status", { token: node.credential, body: { updates: [{ taskId: task.id, state: "complete", exitCode: 0 }] } });
    const done = await openExec(task.id, ["true"]);
    expect(done.status).toBe(409);
    expect(((await done.json()) as any).detail).toMatch(/is not running \(complete\)/);
    // Nothing was recorded for the refusals.
    expect((await t.call("GET", "/v1/events?type=task&event=exec", { token: t.tokens.read })).body.events).toEqual([]);
  });

  it("a node cannot claim another node's command", async () => {
    const { task } = await runningTask();
    const other = await joinNode(t);
    const res = openExec(task.id, ["true"]);
    await new Promise((r) => setTimeout(r, 100));
    const id = (await t.client.execute("SELECT id FROM exec_sessions")).rows[0]!.id as string;
    expect((await t.call("POST", "/v1/agent/exec", { token: other.credential, body: { execId: id, claim: true } })).body).toEqual({ open: false });
    expect(await execsOf(other.credential)).toEqual([]);
    (await res).body?.cancel();
  });
});
