import { serve } from "@hono/node-server";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../app.js";
import { requireCluster } from "../http/access.js";
import type { AppDeps } from "../http/context.js";
import { generateJwtSecret, importClusterKeys } from "../auth/keys.js";
import { bootstrapCluster, rootAdminToken } from "../bootstrap.js";
import { signJoinToken } from "../auth/credentials.js";
import { saveCliContext } from "../cli/config.js";
import { schema } from "../db/client.js";
import { beginLivenessGrace } from "../db/cluster.js";
import { downAfterMs, effectiveHeartbeatPeriodMs } from "../domain/liveness.js";
import { createLocalNotifier } from "../dispatcher/notifier.js";
import { cachedBundle } from "../install/agent-bundle.js";
import { createLogger } from "../logger.js";
import { createShoalServer } from "./node-http.js";
import { LocalLiveness } from "./local-liveness.js";
import { loadNodeConfig, usage, type NodeConfig } from "./nodejs-config.js";
import { reconcile } from "../reconcile.js";
import { runDeliveryPass } from "../webhooks/deliver.js";
import { nodeSender } from "../webhooks/node-sender.js";
import { createDeliveryRunner } from "../webhooks/runner.js";

const migrationsFolder = fileURLToPath(new URL("../../migrations", import.meta.url));
/** The deliverer looks for new events at least this often (other instances write them too). */
const webhookIdleMs = 1000;
/** How long requests in flight (long-polls) may finish when the server stops. */
const shutdownGraceMs = 1000;
/** How often the local liveness view ticks to notice stalls of the event loop. */
const livenessTickMs = 250;
const agentBin = fileURLToPath(new URL("../../agent/bin/shoal-agent.mjs", import.meta.url));

/** The key from SHOAL_JWT_KEY, else the state dir's key file, created (mode 0600) on first start. */
async function loadJwtSecret(config: NodeConfig): Promise<string> {
  if (config.jwtKey) return config.jwtKey;
  const path = join(config.stateDir, "jwt.key");
  try {
    await writeFile(path, `${generateJwtSecret()}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  await chmod(path, 0o600);
  return readFile(path, "utf8");
}

async function main(): Promise<void> {
  let config: NodeConfig | "help";
  try {
    config = loadNodeConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`shoal-server: ${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if (config === "help") {
    process.stdout.write(usage);
    return;
  }
  const logger = createLogger(config.logFormat);
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const keys = await importClusterKeys(await loadJwtSecret(config));

  const embedded = !config.dbUrl;
  const client = createClient({
    url: config.dbUrl ?? `file:${join(config.stateDir, "shoal.db")}`,
    authToken: config.dbAuthToken,
  });
  if (embedded) {
    // WAL lets readers run beside the writer; a busy writer waits instead of failing.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA busy_timeout = 5000");
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });

  const localLiveness = new LocalLiveness(livenessTickMs, Date.now(), (stalledMs, heldUntil) =>
    logger.warn("the control plane stalled: no node is marked down until its agents have had a full allowance to call in", {
      stalledMs,
      heldUntil: new Date(heldUntil).toISOString(),
    }),
  );
  const deps: AppDeps = {
    db,
    keys,
    clock: { now: () => Date.now() },
    logger,
    notifier: createLocalNotifier(),
    nodeCalledIn: (nodeId, now) => localLiveness.nodeCalledIn(nodeId, now),
    livenessHold: (c, now, nodeId) => localLiveness.holdUntil(c, now, nodeId),
    requestTimeoutMs: config.requestTimeoutMs,
    publicUrl: config.publicUrl,
    // Built from agent/ on the first install request, in memory: always the agent of this checkout.
    agentBundle: cachedBundle(async () => (await import("../../agent/scripts/build.js")).bundleAgent()),
    // Likewise the web view, on the first page load.
    uiBundle: cachedBundle(async () => (await import("../ui/build.js")).bundleUi()),
  };
  const { created } = await bootstrapCluster(db, keys, deps.clock.now());
  const cluster = await requireCluster(deps);
  // Agents could not call in while the control plane was down: as Swarm does after a
  // manager restart, give them twice the usual allowance before any is marked down.
  await beginLivenessGrace(db, cluster.id, deps.clock.now() + 2 * downAfterMs(cluster));
  let known = cluster;
  const livenessTimer = setInterval(() => localLiveness.tick(known, Date.now()), livenessTickMs);

  const app = createApp(deps);
  const webhooks = createDeliveryRunner(() => runDeliveryPass({ ...deps, sender: nodeSender, settings: config.webhooks }), {
    clock: deps.clock,
    logger,
  });
  webhooks.start(webhookIdleMs);
  // Writes make events: deliver them now rather than at the next tick.
  const fetch = async (request: Request) => {
    const response = await app.fetch(request);
    if (request.method !== "GET" && request.method !== "HEAD") void webhooks.nudge();
    return response;
  };
  const server = serve({ fetch, hostname: config.host, port: config.port, createServer: createShoalServer }, (info) => {
    void announce(config as NodeConfig, info.port, created);
  });

  async function announce(cfg: NodeConfig, port: number, firstStart: boolean) {
    const url = cfg.publicUrl ?? `http://${cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host}:${port}`;
    logger.info("shoal control plane listening", { url, cluster: keys.clusterId, db: embedded ? "embedded" : "libsql" });
    const lines: string[] = [];
    if (firstStart) {
      const token = await rootAdminToken(keys);
      lines.push(`Cluster ${keys.clusterId} created. Admin token (shown once; keep it secret):`, "", `    ${token}`, "");
      if (cfg.login) {
        await saveCliContext(cfg.cliConfigPath, "default", { url, token });
        lines.push(`The CLI is logged in: ${cfg.cliConfigPath} (mode 0600).`);
      }
    }
    const joinToken = await signJoinToken(keys, "worker", (await requireCluster(deps)).workerJoinGeneration);
    if (cfg.localAgent && existsSync(cfg.dockerSocket)) {
      // As `docker swarm init` makes the current host a node, the local engine joins too.
      localAgent = startLocalAgent(cfg, url, joinToken);
      lines.push(`This machine's Docker engine (${cfg.dockerSocket}) joins as a worker (--no-agent to skip).`);
    }
    lines.push(
      "To add another Docker host as a worker, run on it (give --public-url so it can reach this one; plain http needs --insecure):",
      "",
      `    curl -fsSL ${url}/install.sh | sudo SHOAL_JOIN_TOKEN=${joinToken} sh`,
      "",
      "or, in a clone of shoal:",
      "",
      `    SHOAL_JOIN_TOKEN=${joinToken} node agent/bin/shoal-agent.mjs join --url ${url}`,
      "",
    );
    process.stdout.write(`${lines.join("\n")}\n`);
  }

  let localAgent: ChildProcess | undefined;
  function startLocalAgent(cfg: NodeConfig, url: string, joinToken: string): ChildProcess {
    const child = spawn(
      process.execPath,
      [agentBin, "join", "--url", url, "--docker-socket", cfg.dockerSocket, "--state-dir", join(cfg.stateDir, "agent"), "--log-format", cfg.logFormat],
      { env: { ...process.env, SHOAL_JOIN_TOKEN: joinToken }, stdio: ["ignore", "inherit", "inherit"] },
    );
    child.on("exit", (code, signal) => logger.warn("local agent exited", { code, signal }));
    return child;
  }

  // The safety net: the pipeline step reconciles on requests (src/http/pipeline.ts), this timer when none arrive.
  const timer = setInterval(async () => {
    try {
      const current = await requireCluster(deps);
      known = current;
      await reconcile(deps, current, deps.clock.now());
    } catch (err) {
      logger.error("safety-net reconcile failed", { error: String(err) });
    }
  }, effectiveHeartbeatPeriodMs(cluster));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info("stopping", { signal });
    clearInterval(timer);
    clearInterval(livenessTimer);
    void webhooks.stop();
    localAgent?.kill("SIGTERM");
    server.close(() => {
      client.close();
      process.exit(0);
    });
    // Agents re-poll on their keep-alive connections at once, so those never go idle:
    // give requests in flight a moment, then close every connection.
    if ("closeAllConnections" in server) setTimeout(() => server.closeAllConnections(), shutdownGraceMs).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main();
