/**
 * A node simulator: many nodes in one process, each speaking the agent's real HTTP
 * protocol (join, assignment long-poll = heartbeat, status reports) through the
 * agent's own control-plane client, with simulated containers instead of Docker.
 * A simulated container runs as soon as it is assigned (after `startDelayMs`), stops
 * when told to, and fails or dies with its node on command. For scale benchmarks and
 * chaos runs against a real control plane; see test/bench/scale-bench.ts.
 */
import { ControlPlaneClient } from "../../agent/src/control-plane.js";
import { isTerminal, rank, type TaskState } from "../../src/domain/task-states.js";
import type { Assignment, TaskStatusUpdate } from "../../src/protocol/agent-v1.js";
import { ApiCallError } from "../../src/protocol/http-client.js";

export interface SimOptions {
  url: string;
  joinToken: string;
  /** Delay between a task's assignment and its running report. */
  startDelayMs?: number;
}

const description = (i: number, prefix: string) => ({
  machineId: `sim-machine-${prefix}-${i}`,
  hostname: `${prefix}-${i}`,
  platform: { os: "linux", architecture: "x86_64" },
  resources: { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 },
  engine: { version: "20.10.24", labels: {} },
  addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
});

export class SimNode {
  nodeId = "";
  private client!: ControlPlaneClient;
  private alive = false;
  private stop = new AbortController();
  private loop: Promise<void> | undefined;
  /** The state this node last reported per task, and what it will report next. */
  private readonly reported = new Map<string, TaskState>();
  private readonly pending = new Map<string, TaskStatusUpdate>();
  private readonly timers = new Set<NodeJS.Timeout>();
  tasks: Assignment[] = [];
  /** Called once with the duration of the next status report this node sends (ms). */
  onNextReport: ((ms: number) => void) | undefined;

  constructor(
    readonly index: number,
    readonly hostname: string,
    private readonly opts: SimOptions,
  ) {}

  /** Joins, retrying a few times as the agent does (a busy control plane may not answer within the agent's 5 s). */
  async join(prefix: string): Promise<void> {
    const joiner = new ControlPlaneClient(this.opts.url, this.opts.joinToken);
    let joined;
    for (let attempt = 1; ; attempt++) {
      try {
        joined = await joiner.join(description(this.index, prefix));
        break;
      } catch (err) {
        if (attempt === 5 || (err instanceof ApiCallError && err.status < 500)) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
    this.nodeId = joined.nodeId;
    this.client = new ControlPlaneClient(this.opts.url, joined.credential);
  }

  /** Starts polling (again): an agent starting, or a host coming back. */
  start(): void {
    if (this.alive) return;
    this.alive = true;
    this.stop = new AbortController();
    this.loop = this.run(this.stop.signal);
  }

  /** The host dies: no more calls, its containers are gone with it. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    this.stop.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.loop;
  }

  /** A container exits on its own (code ≠ 0): reported as failed. False when the task already ended here. */
  failTask(taskId: string): boolean {
    return this.report(taskId, "failed", { exitCode: 137, error: "simulated container exit" });
  }

  /** One poll that answers at once: what a heartbeat costs the control plane now (ms). */
  async probe(): Promise<number> {
    const t0 = performance.now();
    await this.client.assignments(-1, undefined, AbortSignal.timeout(30_000), 0);
    return performance.now() - t0;
  }

  running(): string[] {
    return [...this.reported].filter(([, s]) => s === "running").map(([id]) => id);
  }

  private report(taskId: string, state: TaskState, extra: Partial<TaskStatusUpdate> = {}): boolean {
    const last = this.reported.get(taskId);
    if (last !== undefined && rank(state) <= rank(last)) return false;
    this.reported.set(taskId, state);
    this.pending.set(taskId, { taskId, state, ...extra });
    return true;
  }

  private onAssignments(tasks: Assignment[]): void {
    this.tasks = tasks;
    const known = new Set(tasks.map((t) => t.id));
    for (const id of this.reported.keys()) if (!known.has(id)) this.reported.delete(id);
    for (const t of tasks) {
      const last = this.reported.get(t.id) ?? t.state;
      if (isTerminal(last)) continue;
      if (t.desiredState === "shutdown" || t.desiredState === "remove") {
        this.report(t.id, "shutdown");
        continue;
      }
      if (t.desiredState !== "running" || this.reported.has(t.id)) continue;
      this.report(t.id, "accepted");
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.reported.get(t.id) === "accepted") this.report(t.id, "running");
      }, this.opts.startDelayMs ?? 0);
      this.timers.add(timer);
    }
  }

  private async flush(): Promise<void> {
    if (!this.pending.size) return;
    const updates = [...this.pending.values()];
    this.pending.clear();
    const t0 = performance.now();
    try {
      await this.client.reportStatus(updates);
      this.onNextReport?.(performance.now() - t0);
      this.onNextReport = undefined;
    } catch (err) {
      for (const u of updates) if (!this.pending.has(u.taskId)) this.pending.set(u.taskId, u);
      throw err;
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    let since = -1;
    let period = 2000;
    while (!signal.aborted) {
      try {
        await this.flush();
        // Short waits while reports are queued, so a started container is reported within its delay.
        const waitMs = this.pending.size || this.timers.size ? 50 : undefined;
        const answer = await this.client.assignments(since, undefined, AbortSignal.any([signal, AbortSignal.timeout(period + 5000)]), waitMs);
        period = answer.heartbeatPeriodMs;
        if (answer.generation !== since) {
          since = answer.generation;
          this.onAssignments(answer.tasks);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiCallError && err.status === 401) return;
        await new Promise((r) => setTimeout(r, Math.min(period, 500)));
      }
    }
  }
}

/** A fleet of simulated nodes. */
export class Simulator {
  readonly nodes: SimNode[] = [];

  constructor(
    private readonly opts: SimOptions,
    private readonly prefix = "sim",
  ) {}

  /** Joins `count` more nodes, `concurrency` at a time, and starts them. */
  async add(count: number, concurrency = 50): Promise<SimNode[]> {
    const added = Array.from({ length: count }, (_, i) => new SimNode(this.nodes.length + i, `${this.prefix}-${this.nodes.length + i}`, this.opts));
    for (let i = 0; i < added.length; i += concurrency) await Promise.all(added.slice(i, i + concurrency).map((n) => n.join(this.prefix)));
    this.nodes.push(...added);
    for (const n of added) n.start();
    return added;
  }

  byId(nodeId: string): SimNode | undefined {
    return this.nodes.find((n) => n.nodeId === nodeId);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
  }
}
