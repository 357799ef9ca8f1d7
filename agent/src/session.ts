import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import type { Assignment, ExecSession, Heartbeat, HostDescription, LogSession, NetworkDocument } from "../../src/protocol/agent-v1.js";
import { ApiCallError } from "../../src/protocol/http-client.js";
import { nextBackoffMs, sleep } from "./backoff.js";
import type { AgentConfig } from "./config.js";
import { ControlPlaneClient } from "./control-plane.js";
import type { Engine } from "./engine.js";
import type { Logger } from "./log.js";
import type { Reporter } from "./reporter.js";

const redescribeEveryMs = 60_000;
/** An engine that does not answer a ping this fast counts as down (a hung dockerd too). */
const enginePingTimeoutMs = 2000;
/** The long-poll waits up to a heartbeat period; this much more before the call counts as lost. */
const pollSlackMs = 3000;

interface StoredCredential {
  url: string;
  nodeId: string;
  credential: string;
}

export interface SessionEvents {
  /** The dispatcher sent a new set of assignments. */
  assignments(tasks: Assignment[]): void;
  /** The ended tasks whose containers stay (every answer lists them: a task's deletion need not change the assignments). */
  ended?(taskIds: string[]): void;
  /** The control plane refused the node's credential (node removed): the agent stops. */
  revoked(): void;
  /** A new network document (its token differed from `netSince()`). */
  network?(doc: NetworkDocument): void;
  /** The token of the network document the agent holds. */
  netSince?(): string | undefined;
  /** What the network reconciler could not set up; sent in a heartbeat whenever it changes. */
  networkIssues?(): NonNullable<Heartbeat["networkIssues"]>;
  /** The log sessions this node serves and the commands it is to run (every answer lists them); `logSince` is passed back so a new one answers the poll at once. */
  logs?(sessions: LogSession[], execs: ExecSession[]): void;
  /** What the host can do for overlays (probed at each description). */
  overlay?(addr: string): Promise<HostDescription["overlay"]>;
}

/**
 * The session with the control plane: joins once (or reuses the stored
 * credential), then long-polls the node's assignments, which is also its
 * heartbeat, and flushes status reports after each answer. Failed calls back
 * off (min(100 ms + 2·previous, period) with jitter), reset on success; an
 * outage changes nothing locally. While the engine is unreachable it says so
 * instead of polling.
 */
export class Session {
  private client!: ControlPlaneClient;
  nodeId = "";
  /** The heartbeat period the control plane asked for. */
  private periodMs = 2000;

  constructor(
    private readonly config: AgentConfig,
    private readonly docker: Engine,
    private readonly reporter: Reporter,
    private readonly log: Logger,
    private readonly events: SessionEvents,
    private readonly signal: AbortSignal,
  ) {}

  get url(): string {
    return this.client.url;
  }

  /** Status reports go out over the session. */
  readonly reportStatus = (updates: Parameters<ControlPlaneClient["reportStatus"]>[0]) => this.client.reportStatus(updates);

  /** Log lines go out over the session. */
  readonly sendLogs = (batch: Parameters<ControlPlaneClient["sendLogs"]>[0]) => this.client.sendLogs(batch);

  /** So do exec claims, output and exits. */
  readonly sendExec = (report: Parameters<ControlPlaneClient["sendExec"]>[0]) => this.client.sendExec(report);

  async describe(): Promise<HostDescription> {
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
    const overlay = await this.events.overlay?.(addr);
    return {
      hostname: this.config.hostname ?? info.Name,
      platform: { os: info.OSType, architecture: info.Architecture },
      resources: { nanoCpus: info.NCPU * 1e9, memoryBytes: info.MemTotal },
      engine: { version: info.ServerVersion, labels: engineLabels },
      addr,
      ...(overlay ? { overlay } : {}),
    };
  }

  /** Reuses the stored credential, or joins with the token and stores the one answered (mode 0600). */
  async connect(description: HostDescription): Promise<void> {
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
      const joined = await new ControlPlaneClient(this.config.url, this.config.joinToken).join({ ...description, machineId });
      stored = { url: this.config.url, nodeId: joined.nodeId, credential: joined.credential };
      await this.saveCredential(stored);
    }
    this.nodeId = stored.nodeId;
    this.client = new ControlPlaneClient(this.config.url ?? stored.url, stored.credential);
  }

  private async saveCredential(stored: StoredCredential): Promise<void> {
    await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
    const path = join(this.config.stateDir, "credential.json");
    await writeFile(path, JSON.stringify(stored), { mode: 0o600 });
    await chmod(path, 0o600);
  }

  /** Polls until the signal aborts or the credential is refused. */
  async run(initial: HostDescription): Promise<void> {
    let since = -1;
    let logSince: string | undefined = this.events.logs ? "" : undefined;
    let backoffMs = 0;
    let sent: string | undefined;
    let sentIssues = "[]";
    let describedAt = Date.now();
    let description = initial;
    while (!this.signal.aborted) {
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
          await this.client.heartbeat(description, engineDown);
          sent = undefined;
          for (const taskId of this.reporter.tasksIn(["running", "starting"]))
            this.reporter.report(taskId, "failed", { error: `engine unreachable: ${engineDown}` });
          await this.reporter.flush();
          await sleep(this.periodMs, this.signal);
          continue;
        }
        const issues = this.events.networkIssues?.() ?? [];
        if (JSON.stringify(description) !== sent || JSON.stringify(issues) !== sentIssues) {
          if (sent === undefined && since !== -1) this.log.info("Docker engine reachable again");
          await this.client.heartbeat(description, undefined, issues);
          sent = JSON.stringify(description);
          sentIssues = JSON.stringify(issues);
        }
        const answer = await this.client.assignments(
          since,
          this.events.netSince?.(),
          AbortSignal.any([this.signal, AbortSignal.timeout(this.periodMs + pollSlackMs)]),
          undefined,
          logSince,
        );
        backoffMs = 0;
        this.periodMs = answer.heartbeatPeriodMs;
        if (answer.credential) {
          this.client.credential = answer.credential;
          await this.saveCredential({ url: this.client.url, nodeId: this.nodeId, credential: answer.credential });
        }
        if (answer.network) this.events.network?.(answer.network);
        if (this.events.logs) {
          this.events.logs(answer.logs, answer.execs);
          logSince = answer.logToken;
        }
        if (answer.generation !== since) {
          since = answer.generation;
          this.events.assignments(answer.tasks);
        }
        this.events.ended?.(answer.ended);
        await this.reporter.flush();
      } catch (err) {
        if (this.signal.aborted) return;
        if (err instanceof ApiCallError && err.status === 401) {
          this.log.error("the control plane refused this node's credential (node removed?); stopping", { error: err.message });
          this.events.revoked();
          return;
        }
        backoffMs = nextBackoffMs(backoffMs, Math.random, this.periodMs);
        this.log.warn("control plane unreachable; containers keep running", { error: String(err), retryInMs: backoffMs });
        await sleep(backoffMs, this.signal);
      }
    }
  }
}
