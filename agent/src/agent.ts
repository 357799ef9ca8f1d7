import { readFileSync } from "node:fs";
import { isDesiredUp } from "../../src/domain/task-states.js";
import type { ExecSession, LogSession } from "../../src/protocol/agent-v1.js";
import { nextBackoffMs, sleep } from "./backoff.js";
import type { AgentConfig } from "./config.js";
import { labels } from "./container-spec.js";
import type { Engine } from "./engine.js";
import type { Logger } from "./log.js";
import { LogRelay, type LogEngine } from "./log-relay.js";
import { ExecRunner, type ExecEngine } from "./exec-runner.js";
import { DnsResponder, parseResolvConf } from "./network/dns.js";
import { probeOverlay } from "./network/probe.js";
import { NetworkReconciler, type NetworkEngine } from "./network/reconciler.js";
import type { CommandRunner } from "./network/runner.js";
import { loadWireguardKey } from "./network/wireguard.js";
import type { HostWireguard } from "./network/plan.js";
import { Reporter } from "./reporter.js";
import { Session } from "./session.js";
import { defaultSecretsDir, SecretFiles } from "./task-files.js";
import { Worker } from "./worker.js";

const resyncEveryMs = 5000;

/**
 * The agent: a session with the control plane (join, long-poll, backoff), a
 * worker that makes the local engine match the assignments through one
 * controller per task, and a reporter of task status. It only touches
 * containers carrying shoal's task label. Control-plane outages change
 * nothing locally: containers keep running and the session retries.
 * With a command runner it also owns the host's share of the overlay
 * networks: a network reconciler and a DNS responder, fed by the network
 * document of the long-poll (kept through outages and restarts).
 * States: initialized → running → stopping → stopped.
 */
export class Agent {
  state: "initialized" | "running" | "stopping" | "stopped" = "initialized";
  private readonly abort = new AbortController();
  private readonly reporter: Reporter;
  private readonly session: Session;
  private worker: Worker | undefined;
  private network: NetworkReconciler | undefined;
  private dns: DnsResponder | undefined;
  private dnsIssues: string[] = [];
  /** This host's WireGuard, when it can do it: the key is made on first use and only its public half is sent. */
  private wireguard: HostWireguard | undefined;
  private readonly logs: LogRelay | undefined;
  private readonly execs: ExecRunner | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly docker: Engine & Partial<NetworkEngine> & Partial<Pick<LogEngine, "streamLogs">> & Partial<Pick<ExecEngine, "createExec" | "runExec">>,
    private readonly log: Logger,
    /** Runs ip/nft/iptables/conntrack: without one the agent takes no part in overlay networks (tests on an in-memory engine). */
    private readonly runner?: CommandRunner,
  ) {
    this.reporter = new Reporter((updates) => this.session.reportStatus(updates), log);
    // Service logs need the engine's log stream; an in-memory engine (unit tests) has none.
    const streamLogs = docker.streamLogs;
    this.logs = streamLogs && new LogRelay({ listContainers: docker.listContainers.bind(docker), inspectContainer: docker.inspectContainer.bind(docker), streamLogs: streamLogs.bind(docker) }, (batch) => this.session.sendLogs(batch), log, (taskId) =>
      this.worker?.tasks.some((t) => t.id === taskId && isDesiredUp(t.desiredState)) ?? false,
    );
    const { createExec, runExec } = docker;
    this.execs =
      createExec && runExec && new ExecRunner({ listContainers: docker.listContainers.bind(docker), createExec: createExec.bind(docker), runExec: runExec.bind(docker) }, (report) => this.session.sendExec(report), log);
    this.session = new Session(config, docker, this.reporter, log, {
      assignments: (tasks) => {
        this.worker?.assign(tasks);
        this.dns?.setLocalTasks(tasks.map((t) => t.attachments));
      },
      ended: (taskIds) => this.worker?.keepEnded(taskIds),
      revoked: () => this.stop(),
      ...(this.logs || this.execs
        ? {
            logs: (sessions: LogSession[], execs: ExecSession[]) => {
              this.logs?.set(sessions);
              this.execs?.set(execs);
            },
          }
        : {}),
      network: (doc) => void this.network?.setDocument(doc),
      netSince: () => this.network?.token,
      networkIssues: () => [...(this.network?.issues() ?? []), ...this.dnsIssues.map((message) => ({ message }))],
      overlay: async (addr) => {
        if (!this.runner) return undefined;
        const { overlay, why } = await probeOverlay(this.runner, addr);
        if (why) this.log.warn("this host takes no part in overlay networks", { why });
        const kind = overlay?.capabilities.wireguard;
        if (!overlay || !kind || kind === "none") return overlay;
        const key = await loadWireguardKey(this.config.stateDir);
        this.wireguard = { kind, ...key };
        return { ...overlay, wgPublicKey: key.publicKey };
      },
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
    await this.startNetwork(description.addr, description.overlay !== undefined);
    const secretFiles = new SecretFiles(this.config.secretsDir ?? defaultSecretsDir());
    const worker = new Worker(this.docker, this.session.nodeId, this.reporter.report, this.log, () => this.state === "running", (id) => this.network?.ready(id), secretFiles);
    this.worker = worker;
    this.log.info("agent running", { node: this.session.nodeId, url: this.session.url, engine: description.engine.version });
    const timer = setInterval(() => worker.nudge(), resyncEveryMs);
    try {
      await Promise.all([this.session.run(description), this.eventLoop(worker)]);
    } finally {
      clearInterval(timer);
      await worker.idle();
      // The kernel state stays as it is (traffic keeps flowing); only the DNS sockets close with the process.
      this.logs?.stop();
      this.execs?.stop();
      this.network?.stop();
      await this.network?.idle();
      await this.dns?.close();
      this.state = "stopped";
    }
  }

  /** The network reconciler and DNS responder, reconciling at once to a document kept from before a restart. */
  private async startNetwork(addr: string, overlay: boolean): Promise<void> {
    const docker = this.docker;
    if (!this.runner || !overlay || !docker.listNetworks || !docker.createNetwork || !docker.removeNetwork) return;
    const resolvConf = this.config.resolvConf ?? "/etc/resolv.conf";
    const dns = new DnsResponder({
      log: this.log,
      upstreams: () => {
        try {
          return parseResolvConf(readFileSync(resolvConf, "utf8"), new Set(this.network?.document?.networks.map((n) => n.nodeIp)));
        } catch {
          return [];
        }
      },
    });
    this.dns = dns;
    this.network = new NetworkReconciler({
      runner: this.runner,
      docker: { listNetworks: docker.listNetworks.bind(docker), createNetwork: docker.createNetwork.bind(docker), removeNetwork: docker.removeNetwork.bind(docker) },
      log: this.log,
      nodeId: this.session.nodeId,
      underlay: addr,
      wireguard: () => this.wireguard,
      stateDir: this.config.stateDir,
      onReconciled: (doc) => {
        this.worker?.nudge();
        void dns.setDocument(doc).then((problems) => (this.dnsIssues = problems));
      },
    });
    await this.network.start();
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
          (event) => {
            worker.nudge();
            // A network that could not go because containers were still on it can go now.
            if (event.Action === "destroy" && this.network?.issues().length) this.network.nudge();
            // A container just attached: its bridge port needs hairpin mode (reaching its own service's VIP).
            if (event.Action === "start") this.network?.nudge();
          },
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
