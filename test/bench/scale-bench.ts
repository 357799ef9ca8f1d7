/**
 * Scale benchmark: simulated nodes (test/sim/) speaking the agent protocol to one Node
 * control plane on its embedded database.
 *  - poll_p99_ms: p99 of polls that answer at once, sent while every node long-polls at
 *    the heartbeat period the control plane hands out;
 *  - status_report_ms: median cost of one task's report (a container failing) at full size;
 *  - converge_s: a REPLICAS-replica service, from the create request until every task runs;
 *  - failover_s: FAILED nodes go silent at once, until their tasks run elsewhere;
 *  - cp_rss_mb: the control plane's resident memory at the end.
 * NODES (default 5000), REPLICAS (default 10 per node) and FAILED (default a tenth) size it.
 * Run: npm run bench:scale. Prints `name value unit` lines last.
 */
import { readFileSync } from "node:fs";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { HttpJsonClient } from "../../src/protocol/http-client.js";
import { startNodeServer, tempDir } from "../helpers/processes.js";
import { Simulator } from "../sim/simulator.js";

const nodes = Number(process.env.NODES ?? 5000);
const replicas = Number(process.env.REPLICAS ?? nodes * 10);
const failed = Number(process.env.FAILED ?? Math.max(1, Math.floor(nodes / 10)));
const timeoutMs = Number(process.env.TIMEOUT_S ?? 900) * 1000;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

interface Task {
  id: string;
  nodeId: string | null;
  desiredState: string;
  status: { state: string };
}

async function until(what: string, check: () => Promise<boolean>, progress?: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let logged = Date.now();
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (progress && Date.now() - logged > 10_000) {
      log(`waiting for ${what}: ${await progress()}`);
      logged = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main() {
  const jwtKey = generateJwtSecret();
  const server = await startNodeServer({ stateDir: tempDir("shoal-scale-"), jwtKey });
  const api = new HttpJsonClient({ url: server.url, token: await rootAdminToken(await importClusterKeys(jwtKey)) });
  const sim = new Simulator({ url: server.url, joinToken: (await api.get<{ worker: string }>("/v1/swarm/join-tokens")).worker });
  try {
    let t0 = performance.now();
    await sim.add(nodes);
    log(`${nodes} nodes joined in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const tasks = () => api.get<Task[]>("/v1/tasks", { service: "scale" });
    const states = async () => {
      const counts = new Map<string, number>();
      for (const t of await tasks()) counts.set(`${t.desiredState}/${t.status.state}`, (counts.get(`${t.desiredState}/${t.status.state}`) ?? 0) + 1);
      return [...counts].map(([k, n]) => `${k} ${n}`).join(", ");
    };
    const runningCount = async () => (await tasks()).filter((t) => t.desiredState === "running" && t.status.state === "running");

    t0 = performance.now();
    await api.call("POST", "/v1/services", { body: { name: "scale", replicas, task: { container: { image: "busybox:1" } } } });
    await until(`${replicas} running`, async () => (await runningCount()).length === replicas, states);
    const convergeS = (performance.now() - t0) / 1000;
    log(`converged in ${convergeS.toFixed(1)} s`);

    // Heartbeat cost while the whole fleet long-polls.
    const probes: number[] = [];
    for (let i = 0; i < 20; i++) probes.push(...(await Promise.all(Array.from({ length: 25 }, () => sim.nodes[Math.floor(Math.random() * nodes)]!.probe()))));

    // One task's report, one at a time, at full size.
    const reports: number[] = [];
    const sample = (await runningCount()).slice(0, 21);
    for (const t of sample) {
      const node = sim.byId(t.nodeId!)!;
      const done = new Promise<number>((resolve) => (node.onNextReport = resolve));
      node.failTask(t.id);
      reports.push(await done);
    }
    await until("replacements running", async () => (await runningCount()).length === replicas);

    const victims = sim.nodes.slice(0, failed);
    const victimIds = new Set(victims.map((n) => n.nodeId));
    t0 = performance.now();
    await Promise.all(victims.map((n) => n.kill()));
    await until("failover", async () => {
      const r = await runningCount();
      return r.length === replicas && r.every((t) => !victimIds.has(t.nodeId!));
    });
    const failoverS = (performance.now() - t0) / 1000;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, "utf8"))?.[1] ?? 0);

    console.log(`nodes ${nodes} count`);
    console.log(`replicas ${replicas} count`);
    console.log(`poll_p99_ms ${quantile(probes, 0.99).toFixed(1)} ms`);
    console.log(`status_report_ms ${quantile(reports, 0.5).toFixed(1)} ms`);
    console.log(`converge_s ${convergeS.toFixed(2)} s`);
    console.log(`failover_${failed}_s ${failoverS.toFixed(2)} s`);
    console.log(`cp_rss_mb ${(rssKb / 1024).toFixed(1)} MB`);
  } finally {
    await sim.stop();
    await server.stop();
  }
}

await main();
