import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { HttpJsonClient } from "../../src/protocol/http-client.js";
import { buildAgentBundle } from "../../agent/scripts/build.js";
import { startNodeServer, tempDir, type Started } from "../helpers/processes.js";
import { buildTestImage, ensureDockerInstalled, startCluster, type E2ECluster, type E2EHost } from "./hosts.js";

/** A shoal cluster on namespaced hosts: the control plane, and one real agent per host. */
export interface ShoalCluster {
  hosts: E2ECluster;
  controlPlane: Started;
  admin: string;
  agents: Map<string, AgentProcess>;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  startAgent(host: E2EHost): Promise<AgentProcess>;
  /** The host's agent's state dir (on disk) and in-memory secrets dir. */
  agentDirs(host: E2EHost): { state: string; secrets: string };
  /** The control plane's state dir (its database file and key). */
  controlPlaneDir: string;
  restartControlPlane(): Promise<void>;
  /** Polls `check` until it returns truthy or `timeoutMs` passes; returns the last value. */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false | null>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface AgentProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** An API client with the admin token; `baseUrl` is read at each call (the control plane may restart). */
export function apiClient(baseUrl: () => string, admin: string) {
  return async <T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await new HttpJsonClient({ url: baseUrl(), token: admin }).request(method, path, { body, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: res.body as T };
  };
}

/** Polls `check` until it returns truthy or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false | null;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `agentsInHosts`: run each agent inside its host's network namespace, reaching the
 * control plane over the bridge, so that cutting a host's link partitions its agent
 * too. Otherwise agents run in the root namespace (reaching their engine by socket).
 */
export async function startShoalCluster(opts: { hosts: number; prefix: string; agentsInHosts?: boolean }): Promise<ShoalCluster> {
  await ensureDockerInstalled();
  // Agents run as shipped: the one-file bundle on plain Node.
  const agentBin = await buildAgentBundle();
  const hosts = await startCluster(opts);
  await buildTestImage(hosts);
  const jwtKey = generateJwtSecret();
  const admin = await rootAdminToken(await importClusterKeys(jwtKey));
  const stateDir = tempDir("shoal-e2e-cp-");
  const listen = opts.agentsInHosts ? hosts.controlPlaneIp : undefined;
  let controlPlane = await startNodeServer({ stateDir, jwtKey, host: listen });
  const port = new URL(controlPlane.url).port;
  const agents = new Map<string, AgentProcess>();

  const api = apiClient(() => controlPlane.url, admin);
  const joinToken = (await api("GET", "/v1/swarm/join-tokens")).body.worker as string;

  const secretsRoot = join("/dev/shm", `shoal-e2e-${opts.prefix}`);
  const secretsDirOf = (host: E2EHost) => join(secretsRoot, host.name);
  const stateDirOf = (host: E2EHost) => join(hosts.dir, `agent-${host.name}`);

  async function startAgent(host: E2EHost): Promise<AgentProcess> {
    const agentArgs = [
      agentBin,
      agents.has(host.name) ? "run" : "join",
      "--url",
      controlPlane.url,
      "--state-dir",
      stateDirOf(host),
      "--machine-id",
      `e2e-machine-${host.name}`,
      "--addr",
      host.ip,
      "--hostname",
      host.name,
      // Agents of one machine keep their secrets apart, in memory.
      "--secrets-dir",
      secretsDirOf(host),
    ];
    const [command, args] = opts.agentsInHosts
      ? ["nsenter", [`--net=/var/run/netns/${host.netns}`, process.execPath, ...agentArgs]]
      : [process.execPath, agentArgs];
    const child = spawn(
      command,
      args,
      // The socket goes by environment: killEngine() kills every process whose command line names the host's directory.
      { env: { ...process.env, SHOAL_JOIN_TOKEN: joinToken, DOCKER_SOCKET: host.dockerSocket }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const agent: AgentProcess = {
      child,
      output: () => out,
      async kill(signal = "SIGKILL") {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    agents.set(host.name, agent);
    return agent;
  }

  for (const h of hosts.hosts) await startAgent(h);
  const cluster: ShoalCluster = {
    hosts,
    get controlPlane() {
      return controlPlane;
    },
    admin,
    agents,
    api,
    startAgent,
    agentDirs: (host) => ({ state: stateDirOf(host), secrets: secretsDirOf(host) }),
    controlPlaneDir: stateDir,
    waitFor,
    async restartControlPlane() {
      controlPlane = await startNodeServer({ stateDir, jwtKey, port: Number(port), host: listen });
    },
    async stop() {
      await Promise.all([...agents.values()].map((a) => a.kill()));
      await controlPlane.stop();
      await hosts.stop();
      rmSync(secretsRoot, { recursive: true, force: true });
    },
  };
  await waitFor("every node ready", async () => {
    const nodes = (await api("GET", "/v1/nodes")).body as { status: { state: string } }[];
    return nodes.length === opts.hosts && nodes.every((n) => n.status.state === "ready");
  });
  return cluster;
}

/** The containers shoal runs on a host, as its engine reports them. */
export async function shoalContainers(host: E2EHost, all = false): Promise<{ id: string; name: string; task: string; state: string }[]> {
  const out = await host.docker([
    "ps",
    ...(all ? ["-a"] : []),
    "--filter",
    "label=io.shoal.task.id",
    "--format",
    '{{.ID}} {{.Names}} {{.Label "io.shoal.task.id"}} {{.State}}',
  ]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id, name, task, state] = line.split(" ");
      return { id: id!, name: name!, task: task!, state: state! };
    });
}
