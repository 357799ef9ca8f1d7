import { describe, expect, it } from "vitest";
import type { TaskStatusUpdate } from "../../src/protocol/agent-v1.js";
import { Reporter } from "../../agent/src/reporter.js";
import { silentLogger } from "../helpers/app.js";

const settle = () => new Promise((r) => setTimeout(r, 40));

describe("Reporter", () => {
  it("sends each state of a task once, reports made together in one batch, in the order made", async () => {
    const sent: TaskStatusUpdate[][] = [];
    const reporter = new Reporter(async (u) => void sent.push(u), silentLogger);
    reporter.report("task_1", "accepted");
    reporter.report("task_1", "accepted");
    reporter.report("task_2", "accepted");
    reporter.report("task_1", "running", { message: "up" });
    await settle();
    expect(sent).toEqual([
      [
        { taskId: "task_1", state: "accepted" },
        { taskId: "task_2", state: "accepted" },
        { taskId: "task_1", state: "running", message: "up" },
      ],
    ]);
    reporter.report("task_1", "running");
    await reporter.flush();
    expect(sent).toHaveLength(1);
  });

  it("keeps a batch that failed at the front: the next flush sends it before newer reports", async () => {
    const sent: TaskStatusUpdate[][] = [];
    let fail = true;
    const reporter = new Reporter(async (u) => {
      if (fail) throw new Error("control plane unreachable");
      sent.push(u);
    }, silentLogger, 60_000);
    reporter.report("task_1", "starting");
    await expect(reporter.flush()).rejects.toThrow("unreachable");
    reporter.report("task_1", "running");
    fail = false;
    await reporter.flush();
    expect(sent.flat().map((u) => u.state)).toEqual(["starting", "running"]);
  });

  it("flushes one after another, and splits a backlog at the protocol's limit of 1000 per report", async () => {
    const sizes: number[] = [];
    let inFlight = 0;
    const reporter = new Reporter(async (u) => {
      expect(++inFlight).toBe(1);
      await new Promise((r) => setTimeout(r, 5));
      sizes.push(u.length);
      inFlight--;
    }, silentLogger, 60_000);
    for (let i = 0; i < 2500; i++) reporter.report(`task_${i}`, "running");
    await Promise.all([reporter.flush(), reporter.flush()]);
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it("knows which tasks it last reported in given states", () => {
    const reporter = new Reporter(async () => undefined, silentLogger, 60_000);
    reporter.report("task_1", "running");
    reporter.report("task_2", "starting");
    reporter.report("task_3", "failed");
    expect(reporter.tasksIn(["running", "starting"]).sort()).toEqual(["task_1", "task_2"]);
  });
});
