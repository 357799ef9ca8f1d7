import { afterEach, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { getCluster } from "../../src/db/cluster.js";
import { clearMarks, dueMarks, markServices } from "../../src/db/reconcile-marks.js";
import { reconcileMarks, tasks } from "../../src/db/schema/index.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

/**
 * Status reports do not move the cluster generation (so a pass over a large
 * service is not made again for every report that changes nothing it plans);
 * what keeps a pass correct instead: the marks it clears are the ones it read,
 * and each task it changes is guarded on the version it read.
 */
describe("reconcile marks and guards", () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it("a pass clears the mark it read, never one written after its read", async () => {
    t = await createTestApp();
    const [first, ...rest] = markServices(t.db, ["svc_a", "svc_b"]);
    await t.db.batch([first!, ...rest]);
    const read = await dueMarks(t.db, t.clock.now());
    expect(read.map((m) => m.serviceId).sort()).toEqual(["svc_a", "svc_b"]);
    // svc_a is marked again (a report of a task that ended) between the pass's read and its write.
    const [again] = markServices(t.db, ["svc_a"]);
    await t.db.batch([again!]);
    const [clear, ...more] = clearMarks(t.db, read);
    await t.db.batch([clear!, ...more]);
    expect((await t.db.select().from(reconcileMarks)).map((m) => m.serviceId)).toEqual(["svc_a"]);
  });

  it("a report that marks nothing leaves the generation alone; a pass whose task was reported since its read loses", async () => {
    t = await createTestApp();
    const node = await joinNode(t);
    const created = await t.call("POST", "/v1/services", {
      token: t.tokens.admin,
      body: { name: "web", replicas: 1, task: { container: { image: "busybox:1" } } },
    });
    expect(created.status).toBe(201);
    const [task] = await t.db.select().from(tasks);
    expect(task?.nodeId).toBe(node.id);
    const before = (await getCluster(t.db, t.deps.keys.clusterId))!.generation;
    const report = await t.call("POST", "/v1/agent/status", { token: node.credential, body: { updates: [{ taskId: task!.id, state: "running" }] } });
    expect(report.body).toEqual({ applied: 1 });
    expect((await getCluster(t.db, t.deps.keys.clusterId))!.generation).toBe(before);
    expect(await t.db.select().from(reconcileMarks)).toEqual([]);

    // The service is scaled to 0 and, between the pass's read and its write, the agent reports the task failed
    // (a raw update, as applyTaskStatus writes it: new version, no generation bump). The pass's shutdown of the
    // task is guarded on the version it read: its first write loses, and it plans again from the failed task.
    const { batch } = t.client;
    let passWrites = 0;
    t.client.batch = (async (stmts: Parameters<typeof batch>[0], mode?: Parameters<typeof batch>[1]) => {
      const guarded = stmts.some((s) => typeof s === "object" && "sql" in s && /^update "tasks"/.test(s.sql) && s.sql.includes("IN (VALUES"));
      if (guarded && ++passWrites === 1)
        await t.client.execute({ sql: "UPDATE tasks SET state = 'failed', version = version + 1 WHERE id = ?", args: [task!.id] });
      return batch.call(t.client, stmts, mode);
    }) as typeof batch;
    const res = await t.call("POST", "/v1/services/scale", { token: t.tokens.admin, body: { services: { web: 0 } } });
    t.client.batch = batch;
    expect(res.status).toBe(200);
    expect(passWrites).toBe(2);
    const [after] = await t.db.select().from(tasks).where(eq(tasks.id, task!.id));
    expect(after!.state).toBe("failed");
    expect(after!.desiredState).toBe("shutdown");
  });
});
