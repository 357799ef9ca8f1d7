import type { ExecReport, ExecSession, LogBatchAck } from "../../src/protocol/agent-v1.js";
import { maxExecOutputChars } from "../../src/protocol/agent-v1.js";
import { labels } from "./container-spec.js";
import type { DockerClient, LogChunk } from "./docker/client.js";
import type { Logger } from "./log.js";

/** What the runner uses of the engine. */
export type ExecEngine = Pick<DockerClient, "listContainers" | "createExec" | "runExec">;

/** Output goes out this long after it was written, or once this much is held. */
const flushAfterMs = 100;
const maxHeldChars = 64 * 1024;

type Output = NonNullable<ExecReport["output"]>[number];

/**
 * Runs the commands the long-poll hands this node (shoal exec), each once: it claims
 * the command first (a command listed in two answers, or claimed by an earlier run
 * of the agent, is not run again), runs it in the task's container through the
 * engine's exec API, and posts its output as it comes, then its exit code, over the
 * agent's own outbound connection. When a post answers that the caller went away,
 * it stops relaying; the command itself runs on (the engine cannot stop an exec).
 */
export class ExecRunner {
  private readonly seen = new Set<string>();
  private readonly abort = new AbortController();

  constructor(
    private readonly docker: ExecEngine,
    private readonly send: (report: ExecReport) => Promise<LogBatchAck>,
    private readonly log: Logger,
  ) {}

  /** The commands listed now: new ones are claimed and run. */
  set(execs: ExecSession[]): void {
    for (const e of execs) {
      if (this.seen.has(e.id)) continue;
      this.seen.add(e.id);
      void this.run(e).catch((err: unknown) => this.log.warn("exec failed", { exec: e.id, task: e.taskId, error: String(err) }));
    }
  }

  stop(): void {
    this.abort.abort();
  }

  private async run(e: ExecSession): Promise<void> {
    if (!(await this.send({ execId: e.id, claim: true })).open) return;
    this.log.info("running a command in a task's container (shoal exec)", { exec: e.id, task: e.taskId });
    const [container] = await this.docker.listContainers({ labelFilters: [`${labels.task}=${e.taskId}`] });
    if (!container) {
      await this.send({ execId: e.id, exit: { exitCode: null, error: `task ${e.taskId} has no running container on this host` } });
      return;
    }
    let held: Output[] = [];
    let chars = 0;
    let open = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let sending: Promise<void> = Promise.resolve();
    const flush = (exit?: ExecReport["exit"]) => {
      clearTimeout(timer);
      timer = undefined;
      const output = held;
      held = [];
      chars = 0;
      sending = sending.then(async () => {
        if (!open || (output.length === 0 && !exit)) return;
        try {
          open = (await this.send({ execId: e.id, output, ...(exit ? { exit } : {}) })).open;
        } catch (err) {
          // The caller reads nothing more of this command then; the agent goes on.
          this.log.warn("exec output could not be sent; no more is relayed", { exec: e.id, error: String(err) });
          open = false;
        }
      });
      return sending;
    };
    const add = (chunks: LogChunk[]) => {
      for (const c of chunks)
        for (let i = 0; i < c.text.length; i += maxExecOutputChars) {
          const data = c.text.slice(i, i + maxExecOutputChars);
          held.push({ stream: c.stream, data });
          chars += data.length;
        }
      if (chars >= maxHeldChars) void flush();
      else timer ??= setTimeout(() => void flush(), flushAfterMs);
    };
    let exit: NonNullable<ExecReport["exit"]>;
    try {
      const execId = await this.docker.createExec(container.Id, e.cmd);
      exit = { exitCode: await this.docker.runExec(execId, add, this.abort.signal) };
    } catch (err) {
      exit = { exitCode: null, error: err instanceof Error ? err.message : String(err) };
    }
    await flush(exit);
  }
}
