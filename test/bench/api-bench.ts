/**
 * API benchmarks on the Node entry with its embedded libSQL file:
 *  - api_converge_10k_s: a 10,000-replica service on 1,000 registered nodes, from
 *    the create request until every task is assigned (median of runs);
 *  - idle_request_ms: median heartbeat latency at 1,000 nodes and 10,000 tasks
 *    when nothing changed.
 * Run: npm run bench:api. Prints `name value unit` lines last.
 */
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { nodeDescription } from "../helpers/app.js";
import { startNodeServer, tempDir } from "../helpers/processes.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runs = Number(process.env.RUNS ?? 3);

async function run(): Promise<{ convergeS: number; idleMs: number }> {
  const jwtKey = generateJwtSecret();
  const admin = await rootAdminToken(await importClusterKeys(jwtKey));
  const server = await startNodeServer({ stateDir: tempDir("shoal-bench-"), jwtKey });
  try {
    const call = async (method: string, path: string, body?: unknown, token = admin) => {
      const res = await fetch(server.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>;
    };
    // The simulated nodes do not heartbeat while the bench runs: give them a lease longer than the run.
    await call("PATCH", "/v1/swarm?version=1", { heartbeatPeriodMs: 300_000 });
    const joinToken = (await call("GET", "/v1/swarm/join-tokens")).worker;
    const credentials: string[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          call("POST", "/v1/agent/join", { description: nodeDescription({ machineId: `bench-machine-${i + j}`, hostname: `bench-${i + j}` }) }, joinToken),
        ),
      );
      credentials.push(...batch.map((b) => b.credential as string));
    }

    const start = performance.now();
    await call("POST", "/v1/services", { name: "big", replicas: 10_000, task: { container: { image: "busybox:1" } } });
    const tasks = (await call("GET", "/v1/tasks?service=big")) as { status: { state: string } }[];
    const convergeS = (performance.now() - start) / 1000;
    const assigned = tasks.filter((t) => t.status.state === "assigned").length;
    if (assigned !== 10_000) throw new Error(`only ${assigned} of 10000 tasks assigned`);

    const latencies: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await call("POST", "/v1/agent/heartbeat", undefined, credentials[i % credentials.length]);
      latencies.push(performance.now() - t);
    }
    return { convergeS, idleMs: median(latencies) };
  } finally {
    await server.stop();
  }
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await run());
console.log(`api_converge_10k_s ${median(results.map((r) => r.convergeS)).toFixed(3)} s`);
console.log(`idle_request_ms ${median(results.map((r) => r.idleMs)).toFixed(3)} ms`);
