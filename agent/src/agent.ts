import { nextBackoffMs, sleep } from "./backoff.js";
import type { AgentConfig } from "./config.js";
import { labels } from "./container-spec.js";
import type { Engine } from "./engine.js";
import type { Logger } from "./log.js";
import { Reporter } from "./reporter.js";
import { Session } from "./session.js";
import { Worker } from "./worker.js";

const resyncEveryMs = 5000;

/**
 * The agent: a session with the control plane (join, long-poll, backoff), a
 * worker that makes the local engine match the assignments through one
 * controller per task, and a reporter of task status. It only touches
 * containers carrying shoal's task label. Control-plane outages change
 * nothing locally: containers keep running and the session retries.
 * States: initialized → running → stopping → stopped.
 */
export class Agent {
  state: "initialized" | "running" | "stopping" | "stopped" = "initialized";
  private readonly abort = new AbortController();
  private readonly reporter: Reporter;
  private readonly session: Session;
  private worker: Worker | undefined;

  constructor(
    config: AgentConfig,
    private readonly docker: Engine,
    private readonly log: Logger,
  ) {
    this.reporter = new Reporter((updates) => this.session.reportStatus(updates), log);
    this.session = new Session(config, docker, this.reporter, log, {
      assignments: (tasks) => this.worker?.assign(tasks),
      revoked: () => this.stop(),
    }, this.abort.signal);
  }

  /** The node this agent runs as, once joined. */
  get nodeId(): string {
    return this.session.nodeId;
  }

  /** Resolves once the agent has stopped (after `stop()` or a fatal error). */
  async run(): Promise<void> {
    this.state = "running";
    await this.docker.negotiate();
    const description = await this.session.describe();
    await this.session.connect(description);
    const worker = new Worker(this.docker, this.session.nodeId, this.reporter.report, this.log, () => this.state === "running");
    this.worker = worker;
    this.log.info("agent running", { node: this.session.nodeId, url: this.session.url, engine: description.engine.version });
    const timer = setInterval(() => worker.nudge(), resyncEveryMs);
    try {
      await Promise.all([this.session.run(description), this.eventLoop(worker)]);
    } finally {
      clearInterval(timer);
      await worker.idle();
      this.state = "stopped";
    }
  }

  /** Stops polling and leaves every container as it is (SIGTERM). */
  stop(): void {
    if (this.state !== "running") return;
    this.state = "stopping";
    this.abort.abort();
  }

  /** Engine events (a container died, changed health) trigger a sync at once; the stream has no idle timeout. */
  private async eventLoop(worker: Worker): Promise<void> {
    let backoffMs = 0;
    while (this.state === "running") {
      try {
        await this.docker.events(
          { filters: { type: ["container"], label: [labels.task], event: ["die", "health_status", "start", "destroy"] } },
          () => worker.nudge(),
          this.abort.signal,
        );
        backoffMs = 0;
      } catch (err) {
        if (this.state !== "running") return;
        backoffMs = nextBackoffMs(backoffMs);
        this.log.warn("engine event stream failed", { error: String(err), retryInMs: backoffMs });
      }
      await sleep(backoffMs, this.abort.signal);
    }
  }
}
