import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import type { Logger } from "../../src/api/context.js";
import type { AgentConfig } from "./config.js";
import { containerCreateBody, labels } from "./container-spec.js";
import type { Assignment, HostDescription, TaskStatusUpdate } from "../../src/protocol/agent-v1.js";
import { ApiCallError } from "../../src/protocol/http-client.js";
import { ControlPlaneClient } from "./control-plane.js";
import { isConflict, isNotFound, type DockerClient } from "./docker/client.js";

/**
 * Backoff between failed calls to the control plane: min(100 ms + 2·previous, cap), with
 * jitter; reset on success. The agent caps it at the heartbeat period, so that retries
 * never come faster than heartbeats do and a healed link is noticed within one period.
 */
export function nextBackoffMs(previousMs: number, random = Math.random, capMs = 8000): number {
  const base = Math.min(100 + 2 * previousMs, capMs);
  return Math.round(base / 2 + random() * (base / 2));
}

const resyncEveryMs = 5000;
const redescribeEveryMs = 60_000;
/** An engine that does not answer a ping this fast counts as down (a hung dockerd too). */
const enginePingTimeoutMs = 2000;
/** Reports made within this window go out in one request. */
const reportBatchMs = 20;

interface StoredCredential {
  url: string;
  nodeId: string;
  credential: string;
}

type ContainerSummary = { Id: string; Labels: Record<string, string>; State: string };

/**
 * The agent: joins once, then long-polls its assignments and makes the local
 * engine match them. It only touches containers carrying shoal's task label.
 * Control-plane outages change nothing locally: containers keep running and
 * the agent retries with backoff. States: initialized → running → stopping → stopped.
 */
export class Agent {
  state: "initialized" | "running" | "stopping" | "stopped" = "initialized";
  private readonly abort = new AbortController();
  private controlPlane!: ControlPlaneClient;
  private nodeId = "";
  private assignments = new Map<string, Assignment>();
  private reported = new Map<string, TaskStatusUpdate["state"]>();
  private outbox: TaskStatusUpdate[] = [];
  private busy = new Set<string>();
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private flushSoon: NodeJS.Timeout | undefined;
  /** The heartbeat period the control plane asked for. */
  private periodMs = 2000;

  constructor(
    private readonly config: AgentConfig,
    private readonly docker: DockerClient,
    private readonly log: Logger,
  ) {}

  /** Resolves once the agent has stopped (after `stop()` or a fatal error). */
  async run(): Promise<void> {
    this.state = "running";
    await this.docker.negotiate();
    const description = await this.describe();
    await this.connect(description);
    this.log.info("agent running", { node: this.nodeId, url: this.controlPlane.url, engine: description.engine.version });
    const timer = setInterval(() => this.nudge(), resyncEveryMs);
    try {
      await Promise.all([this.pollLoop(description), this.eventLoop()]);
    } finally {
      clearInterval(timer);
      await this.syncing;
      this.state = "stopped";
    }
  }

  /** Stops polling and leaves every container as it is (SIGTERM). */
  stop(): void {
    if (this.state !== "running") return;
    this.state = "stopping";
    this.abort.abort();
  }

  private async describe(): Promise<HostDescription> {
    const info = await this.docker.info();
    const engineLabels = Object.fromEntries(
      (info.Labels ?? []).map((l) => {
        const eq = l.indexOf("=");
        return eq < 0 ? [l, ""] : [l.slice(0, eq), l.slice(eq + 1)];
      }),
    );
    const addr =
      this.config.addr ??
      Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === "IPv4" && !i.internal)?.address ??
      "127.0.0.1";
    return {
      hostname: this.config.hostname ?? info.Name,
      platform: { os: info.OSType, architecture: info.Architecture },
      resources: { nanoCpus: info.NCPU * 1e9, memoryBytes: info.MemTotal },
      engine: { version: info.ServerVersion, labels: engineLabels },
      addr,
    };
  }

  /** Reuses the stored credential, or joins with the token and stores the one answered (mode 0600). */
  private async connect(description: HostDescription): Promise<void> {
    const path = join(this.config.stateDir, "credential.json");
    let stored: StoredCredential | undefined;
    try {
      stored = JSON.parse(await readFile(path, "utf8")) as StoredCredential;
    } catch {
      stored = undefined;
    }
    if (this.config.command === "join" || !stored) {
      if (!this.config.url || !this.config.joinToken) throw new Error("not joined yet: run `shoal-agent join --url URL` with SHOAL_JOIN_TOKEN set");
      const machineId = this.config.machineId ?? (await readFile("/etc/machine-id", "utf8")).trim();
      const client = new ControlPlaneClient(this.config.url, this.config.joinToken);
      const joined = await client.join({ ...description, machineId });
      stored = { url: this.config.url, nodeId: joined.nodeId, credential: joined.credential };
      await this.saveCredential(stored);
    }
    this.nodeId = stored.nodeId;
    this.controlPlane = new ControlPlaneClient(this.config.url ?? stored.url, stored.credential);
  }

  private async saveCredential(stored: StoredCredential): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
    const path = join(this.config.stateDir, "credential.json");
    await writeFile(path, JSON.stringify(stored), { mode: 0o600 });
    await chmod(path, 0o600);
  }

  private async pollLoop(initial: HostDescription): Promise<void> {
    let since = -1;
    let backoffMs = 0;
    let sent: string | undefined;
    let describedAt = Date.now();
    let description = initial;
    while (this.state === "running") {
      try {
        // Keep the node's description current (engine upgrades, labels, resources).
        if (Date.now() - describedAt > redescribeEveryMs) {
          description = await this.describe().catch(() => description);
          describedAt = Date.now();
        }
        const engineDown = await this.docker.ping(enginePingTimeoutMs).then(
          () => undefined,
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        );
        if (engineDown) {
          // Alive without an engine: say so (the node goes down and its tasks are placed
          // elsewhere), and report the tasks it was running as failed. No polling meanwhile:
          // a poll is a heartbeat saying the node is ready.
          if (sent !== undefined) this.log.warn("Docker engine unreachable; reporting the node down", { error: engineDown });
          await this.controlPlane.heartbeat(description, engineDown);
          sent = undefined;
          for (const [taskId, state] of this.reported)
            if (state === "running" || state === "starting") this.report(taskId, "failed", { error: `engine unreachable: ${engineDown}` });
          await this.flush();
          await this.sleep(this.periodMs);
          continue;
        }
        if (JSON.stringify(description) !== sent) {
          if (sent === undefined && since !== -1) this.log.info("Docker engine reachable again");
          await this.controlPlane.heartbeat(description);
          sent = JSON.stringify(description);
        }
        const answer = await this.controlPlane.assignments(since, AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.periodMs + 3000)]));
        backoffMs = 0;
        this.periodMs = answer.heartbeatPeriodMs;
        if (answer.credential) {
          this.controlPlane.credential = answer.credential;
          await this.saveCredential({ url: this.controlPlane.url, nodeId: this.nodeId, credential: answer.credential });
        }
        if (answer.generation !== since) {
          since = answer.generation;
          this.assignments = new Map(answer.tasks.map((t) => [t.id, t]));
          this.nudge();
        }
        await this.flush();
      } catch (err) {
        if (this.state !== "running") return;
        if (err instanceof ApiCallError && err.status === 401) {
          this.log.error("the control plane refused this node's credential (node removed?); stopping", { error: err.message });
          this.stop();
          return;
        }
        backoffMs = nextBackoffMs(backoffMs, Math.random, this.periodMs);
        this.log.warn("control plane unreachable; containers keep running", { error: String(err), retryInMs: backoffMs });
        await this.sleep(backoffMs);
      }
    }
  }

  /** Engine events (a container died, changed health) trigger a sync at once; the stream has no idle timeout. */
  private async eventLoop(): Promise<void> {
    let backoffMs = 0;
    while (this.state === "running") {
      try {
        await this.docker.events(
          { filters: { type: ["container"], label: [labels.task], event: ["die", "health_status", "start", "destroy"] } },
          () => this.nudge(),
          this.abort.signal,
        );
        backoffMs = 0;
      } catch (err) {
        if (this.state !== "running") return;
        backoffMs = nextBackoffMs(backoffMs);
        this.log.warn("engine event stream failed", { error: String(err), retryInMs: backoffMs });
      }
      await this.sleep(backoffMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
  }

  /** Asks for a sync; syncs never overlap, and one asked for during a sync runs right after it. */
  private nudge(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        try {
          await this.sync();
          await this.flush();
        } catch (err) {
          this.log.warn("sync failed", { error: String(err) });
        }
      } while (this.syncAgain && this.state === "running");
      this.syncing = undefined;
    })();
  }

  /** Queues a report; reports go out in small batches while a sync still works on other tasks. */
  private report(taskId: string, state: TaskStatusUpdate["state"], extra: Omit<TaskStatusUpdate, "taskId" | "state"> = {}): void {
    if (this.reported.get(taskId) === state) return;
    this.reported.set(taskId, state);
    this.outbox.push({ taskId, state, ...extra });
    this.flushSoon ??= setTimeout(() => {
      this.flushSoon = undefined;
      this.flush().catch((err) => this.log.warn("status report failed; will retry", { error: String(err) }));
    }, reportBatchMs);
  }

  private async flush(): Promise<void> {
    if (this.outbox.length === 0 || !this.controlPlane) return;
    const updates = this.outbox;
    this.outbox = [];
    try {
      await this.controlPlane.reportStatus(updates);
    } catch (err) {
      this.outbox = [...updates, ...this.outbox];
      throw err;
    }
  }

  /** Makes the engine match the assignments: start what should run, stop what should not, remove the rest. */
  private async sync(): Promise<void> {
    const containers = new Map<string, ContainerSummary>();
    for (const c of await this.docker.listContainers({ all: true, labelFilters: [labels.task] }))
      containers.set(c.Labels[labels.task]!, c);
    const work: Promise<void>[] = [];
    for (const a of this.assignments.values()) {
      if (this.busy.has(a.id)) continue;
      const c = containers.get(a.id);
      const up = a.desiredState === "running" || a.desiredState === "ready";
      if (up && a.desiredState === "running") work.push(this.guard(a.id, () => (c ? this.observe(a, c) : this.start(a))));
      else if (!up) work.push(this.guard(a.id, () => this.shutdown(a, c)));
    }
    for (const [taskId, c] of containers)
      if (!this.assignments.has(taskId) && !this.busy.has(taskId)) work.push(this.guard(taskId, () => this.removeContainer(c.Id, true)));
    await Promise.all(work);
  }

  private async guard(taskId: string, fn: () => Promise<void>): Promise<void> {
    this.busy.add(taskId);
    try {
      await fn();
    } catch (err) {
      this.log.warn("task step failed", { task: taskId, error: String(err) });
    } finally {
      this.busy.delete(taskId);
    }
  }

  /** accepted → preparing (image) → ready (created) → starting → running (observe decides). */
  private async start(a: Assignment): Promise<void> {
    const image = a.spec.task.container.image;
    this.report(a.id, "accepted");
    this.report(a.id, "preparing");
    try {
      // With no registry reachable, an image already present still runs.
      if (!(await this.docker.imageExists(image))) await this.docker.pullImage(image);
      for (const m of a.spec.task.container.mounts)
        if (m.type === "volume" && m.source) await this.docker.createVolume(m.source, { [labels.service]: a.serviceId });
      let id: string;
      try {
        id = await this.docker.createContainer(a.containerName, containerCreateBody(a, this.nodeId));
      } catch (err) {
        // A container of this name exists: an earlier run of the agent created it. Adopt it on the next sync.
        if (isConflict(err)) return this.nudge();
        throw err;
      }
      this.report(a.id, "ready");
      this.report(a.id, "starting");
      await this.docker.startContainer(id);
      // Without a healthcheck a started container is running; an early exit arrives as a `die` event.
      if (a.spec.task.container.healthcheck) await this.observe(a, { Id: id, Labels: {}, State: "running" });
      else this.report(a.id, "running");
    } catch (err) {
      this.report(a.id, "rejected", { error: String(err instanceof Error ? err.message : err) });
    }
  }

  /** Reports what a task's container is doing; a healthcheck gates `running`. */
  private async observe(a: Assignment, c: ContainerSummary): Promise<void> {
    const info = await this.docker.inspectContainer(c.Id);
    const s = info.State;
    if (s.Running) {
      const health = s.Health?.Status;
      if (health === "unhealthy") {
        await this.docker.stopContainer(c.Id, Math.ceil(a.spec.task.container.stopGracePeriodMs / 1000));
        this.report(a.id, "failed", { error: "task: container is unhealthy", exitCode: null });
      } else if (health === undefined || health === "healthy") this.report(a.id, "running");
      else this.report(a.id, "starting", { message: `health: ${health}` });
      return;
    }
    if (s.Status === "created") {
      this.report(a.id, "starting");
      await this.docker.startContainer(c.Id);
      return this.nudge();
    }
    if (s.ExitCode === 0 && !s.Error) this.report(a.id, "complete", { exitCode: 0 });
    else this.report(a.id, "failed", { exitCode: s.ExitCode, error: s.Error || `task: non-zero exit (${s.ExitCode})` });
  }

  private async shutdown(a: Assignment, c: ContainerSummary | undefined): Promise<void> {
    if (c) {
      if (c.State === "running") await this.docker.stopContainer(c.Id, Math.ceil(a.spec.task.container.stopGracePeriodMs / 1000));
      await this.removeContainer(c.Id, false);
    }
    this.report(a.id, "shutdown");
  }

  private async removeContainer(id: string, stopFirst: boolean): Promise<void> {
    try {
      if (stopFirst) await this.docker.stopContainer(id, 10);
      await this.docker.removeContainer(id, { force: true, volumes: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
