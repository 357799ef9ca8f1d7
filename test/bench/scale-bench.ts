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
import { endChildrenWithThisProcess, startNodeServer, tempDir } from "../helpers/processes.js";
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
    // Nodes marked down: only the FAILED victims should be, a node that kept polling never.
    const nodeDowns = async () => {
      let downs = 0;
      for (let after = 0; ; ) {
        const page = await api.get<{ events: unknown[]; cursor: number }>("/v1/events", { event: "node.down", after: String(after), limit: "10000" });
        downs += page.events.length;
        if (page.cursor === after) return downs;
        after = page.cursor;
      }
    };
    const nodeStates = async () => {
      const counts = new Map<string, number>();
      for (const n of await api.get<{ status: { state: string } }[]>("/v1/nodes")) counts.set(n.status.state, (counts.get(n.status.state) ?? 0) + 1);
      return [...counts].map(([k, n]) => `${k} ${n}`).join(", ");
    };
    const progress = async () => `tasks ${await states()}; nodes ${await nodeStates()}; ${await nodeDowns()} node downs so far`;
    const runningCount = async () => (await tasks()).filter((t) => t.desiredState === "running" && t.status.state === "running");

    t0 = performance.now();
    await api.call("POST", "/v1/services", { body: { name: "scale", replicas, task: { container: { image: "busybox:1" } } } });
    await until(`${replicas} running`, async () => (await runningCount()).length === replicas, progress);
    const convergeS = (performance.now() - t0) / 1000;
    const convergeDowns = await nodeDowns();
    log(`converged in ${convergeS.toFixed(1)} s, ${convergeDowns} node downs`);

    // Heartbeat cost while the whole fleet long-polls.
    const probes: number[] = [];
    for (let i = 0; i < 20; i++) probes.push(...(await Promise.all(Array.from({ length: 25 }, () => sim.nodes[Math.floor(Math.random() * nodes)]!.probe()))));

    // One task's report, one at a time, at full size.
    const reports: number[] = [];
    // A task the control plane lists as running may have ended on its node since (a node that
    // flapped): such a one is skipped, and a report that never comes fails the run, not hangs it.
    for (const t of (await runningCount()).slice(0, 40)) {
      if (reports.length === 21) break;
      const node = sim.byId(t.nodeId!)!;
      const done = new Promise<number>((resolve) => (node.onNextReport = resolve));
      if (!node.failTask(t.id)) {
        node.onNextReport = undefined;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no status report from ${t.nodeId} in 60 s`)), 60_000)));
      reports.push(await Promise.race([done, late]).finally(() => clearTimeout(timer)));
    }
    await until("replacements running", async () => (await runningCount()).length === replicas);

    const victims = sim.nodes.slice(0, failed);
    const victimIds = new Set(victims.map((n) => n.nodeId));
    t0 = performance.now();
    await Promise.all(victims.map((n) => n.kill()));
    await until("failover", async () => {
      const r = await runningCount();
      return r.length === replicas && r.every((t) => !victimIds.has(t.nodeId!));
    }, progress);
    const failoverS = (performance.now() - t0) / 1000;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, "utf8"))?.[1] ?? 0);

    console.log(`nodes ${nodes} count`);
    console.log(`replicas ${replicas} count`);
    console.log(`poll_p99_ms ${quantile(probes, 0.99).toFixed(1)} ms`);
    console.log(`status_report_ms ${quantile(reports, 0.5).toFixed(1)} ms`);
    console.log(`converge_s ${convergeS.toFixed(2)} s`);
    console.log(`failover_${failed}_s ${failoverS.toFixed(2)} s`);
    console.log(`false_node_downs ${(await nodeDowns()) - failed} count`);
    console.log(`cp_stalls ${server.output().match(/the control plane stalled/g)?.length ?? 0} count`);
    console.log(`cp_rss_mb ${(rssKb / 1024).toFixed(1)} MB`);
  } finally {
    await sim.stop();
    await server.stop();
  }
}

endChildrenWithThisProcess();
await main();
