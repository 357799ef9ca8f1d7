import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NetworkDocument, type Heartbeat } from "../../../src/protocol/agent-v1.js";
import { isNotFound, type DockerClient } from "../docker/client.js";
import type { Logger } from "../log.js";
import { dockerNetworkName, networkLabel } from "./names.js";
import { observeKernel, toObservedDockerNetwork } from "./observe.js";
import { planNetwork, sysctlKeys, wireguardGroup, type DockerNetworkSpec, type HostWireguard, type ObservedState, type Step } from "./plan.js";
import type { CommandRunner } from "./runner.js";

export type NetworkIssue = NonNullable<Heartbeat["networkIssues"]>[number];

/** What of the Docker engine the network reconciler uses. */
export type NetworkEngine = Pick<DockerClient, "listNetworks" | "createNetwork" | "removeNetwork">;

/** A network this host has set up: what a container joining it needs. */
export interface ReadyNetwork {
  dockerName: string;
  nodeIp: string;
}

/** Drift (a deleted route, a flushed rule, a restarted dockerd) is repaired this often. */
const driftCheckMs = 30_000;

const emptyDocument: NetworkDocument = { token: "", networks: [], mesh: [] };

/**
 * The network reconciler: makes this host's share of the overlays match the
 * last network document, level-triggered, on every new document and every
 * 30 s. Each round reads the kernel and the engine, diffs (pure: planNetwork)
 * and applies the steps; a failed step skips the rest of its network and is
 * reported as a network issue. The document is kept on disk, so a restarted
 * agent reconciles to it at once (nothing is flushed) and a control-plane
 * outage changes nothing.
 */
export class NetworkReconciler {
  private doc: NetworkDocument | undefined;
  /** The document last applied without failures: conntrack deletes are computed against it. */
  private applied: NetworkDocument | undefined;
  private current: NetworkIssue[] = [];
  private readonly readyNetworks = new Map<string, ReadyNetwork>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: {
      runner: CommandRunner;
      docker: NetworkEngine;
      log: Logger;
      nodeId: string;
      /** The underlay address (the node's `addr`). */
      underlay: string;
      /** This host's WireGuard, once the probe found it and its key is made. */
      wireguard?: () => HostWireguard | undefined;
      /** Where the last document is kept; none: memory only. */
      stateDir?: string;
      /** Called after each round (containers waiting for a network can go on). */
      onReconciled?: (doc: NetworkDocument) => void;
    },
  ) {}

  private writes = 0;

  /** The token of the document held, for `netSince`. */
  get token(): string | undefined {
    return this.doc?.token;
  }

  get document(): NetworkDocument | undefined {
    return this.doc;
  }

  /** What failed in the last round. */
  issues(): NetworkIssue[] {
    return this.current;
  }

  /** The network, once this host has set it up. */
  ready(networkId: string): ReadyNetwork | undefined {
    return this.readyNetworks.get(networkId);
  }

  /** Loads the kept document (if any) and starts the periodic round. */
  async start(): Promise<void> {
    if (this.opts.stateDir) {
      try {
        this.doc = NetworkDocument.parse(JSON.parse(await readFile(this.path(), "utf8")));
      } catch {
        this.doc = undefined;
      }
    }
    this.timer = setInterval(() => this.nudge(), driftCheckMs);
    this.timer.unref();
    if (this.doc) this.nudge();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A new document from the control plane: kept, then reconciled to. */
  async setDocument(doc: NetworkDocument): Promise<void> {
    this.doc = doc;
    // Documents can arrive back to back: each write has its own temporary file, so two never rename the same one.
    if (this.opts.stateDir)
      try {
        await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
        const tmp = `${this.path()}.${++this.writes}.tmp`;
        await writeFile(tmp, JSON.stringify(doc), { mode: 0o600 });
        await rename(tmp, this.path());
      } catch (err) {
        this.opts.log.warn("could not keep the network document", { error: errorText(err) });
      }
    this.nudge();
  }

  /** Asks for a round; rounds never overlap, one asked for during a round runs right after it. */
  nudge(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.round();
        } catch (err) {
          this.current = [{ message: `network reconcile failed: ${errorText(err)}` }];
          this.opts.log.warn("network reconcile failed", { error: errorText(err) });
        }
      } while (this.again);
      this.running = undefined;
    })();
  }

  /** Resolves once no round runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private path(): string {
    return join(this.opts.stateDir!, "network.json");
  }

  private async observe(doc: NetworkDocument): Promise<ObservedState> {
    const [kernel, networks] = await Promise.all([
      observeKernel(this.opts.runner, this.opts.underlay, sysctlKeys(doc)),
      this.opts.docker.listNetworks([networkLabel]),
    ]);
    return { ...kernel, dockerNetworks: networks.map(toObservedDockerNetwork) };
  }

  private async round(): Promise<void> {
    const doc = this.doc ?? emptyDocument;
    const observed = await this.observe(doc);
    const wireguard = this.opts.wireguard?.();
    const steps = planNetwork(doc, this.applied, observed, { nodeId: this.opts.nodeId, underlay: this.opts.underlay, ...(wireguard ? { wireguard } : {}) });
    const failed = new Map<string, string>();
    const encrypted = new Set(doc.networks.filter((n) => n.encrypted).map((n) => n.id));
    const skipped = (group: string) => failed.has(group) || (encrypted.has(group) && failed.has(wireguardGroup));
    for (const step of steps) {
      if (skipped(step.group)) continue;
      try {
        await this.apply(step, observed);
      } catch (err) {
        failed.set(step.group, errorText(err));
      }
    }
    const issues: NetworkIssue[] = [];
    const known = new Set(doc.networks.map((n) => n.id));
    for (const [group, message] of failed) issues.push(known.has(group) ? { networkId: group, message } : { message: `${group}: ${message}` });
    if (steps.length) this.opts.log.info("network reconciled", { steps: steps.length, failed: failed.size, token: doc.token });
    for (const i of issues) this.opts.log.warn("network issue", { ...i });
    this.current = issues;
    if (failed.size === 0) this.applied = doc;
    this.readyNetworks.clear();
    for (const n of doc.networks)
      if (!skipped(n.id)) this.readyNetworks.set(n.id, { dockerName: dockerNetworkName(n.id), nodeIp: n.nodeIp });
    this.opts.onReconciled?.(doc);
  }

  private async apply(step: Step, observed: ObservedState): Promise<void> {
    const run = this.opts.runner;
    switch (step.kind) {
      case "issue":
        throw new Error(step.message);
      case "ip":
      case "bridge":
        await run.run(step.kind, ["-batch", "-"], { input: `${step.lines.join("\n")}\n` });
        return;
      case "sysctl":
        await run.run("sysctl", ["-q", "-w", `${step.key}=${step.value}`]);
        return;
      case "iptables":
        await run.run("iptables", ["-w", "5", ...step.args]);
        return;
      case "wg-device":
        if (step.userspace)
          // It forks into the background and outlives the agent (traffic keeps flowing); it exits when its device is deleted.
          await run.run("env", ["LOG_LEVEL=silent", "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1", "wireguard-go", step.name]);
        else await run.run("ip", ["link", "add", step.name, "type", "wireguard"]);
        return;
      case "wg":
        await run.run("wg", step.args);
        return;
      case "nft":
        await run.run("nft", ["-f", "-"], { input: step.text });
        return;
      case "conntrack":
        // Exit 1: no flow matched, nothing to delete.
        await run.run("conntrack", step.args, { okCodes: [0, 1] });
        return;
      case "docker-create":
        await this.opts.docker.createNetwork(dockerNetworkBody(step.network));
        return;
      case "docker-remove": {
        const id = observed.dockerNetworks.find((n) => n.name === step.name)?.id ?? step.name;
        try {
          await this.opts.docker.removeNetwork(id);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        return;
      }
    }
  }
}

/** Docker's bridge driver on our bridge: Docker wires containers and holds the gateway (node IP); masquerade is ours (it would NAT the overlay). */
export function dockerNetworkBody(n: DockerNetworkSpec) {
  return {
    Name: n.name,
    Driver: "bridge",
    Internal: n.internal,
    IPAM: { Driver: "default", Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Options: {
      "com.docker.network.bridge.name": n.bridge,
      "com.docker.network.bridge.enable_ip_masquerade": "false",
      "com.docker.network.driver.mtu": String(n.mtu),
    },
    Labels: { [networkLabel]: n.networkId },
  };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
