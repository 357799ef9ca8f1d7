import { describe, expect, it } from "vitest";
import { ExecRunner, type ExecEngine } from "../../agent/src/exec-runner.js";
import type { ExecReport } from "../../src/protocol/agent-v1.js";

const quiet = { info() {}, warn() {}, error() {} };

function fakeEngine(containers: string[]) {
  const ran: string[][] = [];
  const engine: ExecEngine = {
    listContainers: async (o) => {
      const taskId = o?.labelFilters?.[0]?.split("=")[1] ?? "";
      return containers.includes(taskId) ? [{ Id: `c-${taskId}`, Labels: {} } as never] : [];
    },
    createExec: async (_id, cmd) => (ran.push(cmd), `x${ran.length}`),
    runExec: async (_id, onChunks) => {
      onChunks([{ stream: "stdout", text: "hi\n" }, { stream: "stderr", text: "oops\n" }]);
      return 3;
    },
  };
  return { engine, ran };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
};

describe("ExecRunner", () => {
  it("claims, runs once though listed twice, and posts the output then the exit code", async () => {
    const { engine, ran } = fakeEngine(["task_a"]);
    const posts: ExecReport[] = [];
    const runner = new ExecRunner(engine, async (r) => (posts.push(r), { open: !r.exit }), quiet);
    const exec = { id: "exec_1", taskId: "task_a", cmd: ["sh", "-c", "echo hi; exit 3"] };
    runner.set([exec]);
    runner.set([exec]);
    await until(() => posts.some((p) => p.exit));
    expect(ran).toEqual([exec.cmd]);
    expect(posts[0]).toEqual({ execId: "exec_1", claim: true });
    expect(posts.flatMap((p) => p.output ?? [])).toEqual([
      { stream: "stdout", data: "hi\n" },
      { stream: "stderr", data: "oops\n" },
    ]);
    expect(posts.at(-1)!.exit).toEqual({ exitCode: 3 });
  });

  it("runs nothing when the claim is refused, and says why when the task has no container here", async () => {
    const { engine, ran } = fakeEngine([]);
    const posts: ExecReport[] = [];
    new ExecRunner(engine, async (r) => (posts.push(r), { open: r.execId === "exec_2" }), quiet).set([
      { id: "exec_1", taskId: "task_a", cmd: ["true"] },
      { id: "exec_2", taskId: "task_b", cmd: ["true"] },
    ]);
    await until(() => posts.some((p) => p.exit));
    expect(ran).toEqual([]);
    expect(posts.filter((p) => p.execId === "exec_1")).toEqual([{ execId: "exec_1", claim: true }]);
    expect(posts.at(-1)).toEqual({ execId: "exec_2", exit: { exitCode: null, error: "task task_b has no running container on this host" } });
  });
});
