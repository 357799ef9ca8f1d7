/**
 * End-to-end benchmarks on 3 namespaced hosts with real dockerd and agents.
 * Run: npm run bench:e2e (as root). Prints `name value unit` lines last:
 *  - converge_30_s: create request → 30 replicas running over 3 hosts (median of runs);
 *  - dispatch_ms: create request → a long-polling node receives its assignment (median);
 *  - agent_rss_mb: resident memory of an agent running 30 tasks;
 *  - failover_s: default settings, 30 replicas on 3 hosts, from killing one host
 *    (engine and agent) until all 30 run again on the others (one run: it costs a host).
 */
import { readFileSync } from "node:fs";
import { nodeDescription } from "../helpers/app.js";
import { shoalContainers, startShoalCluster } from "../e2e/cluster.js";
import { TEST_IMAGE } from "../e2e/hosts.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runs = Number(process.env.RUNS ?? 3);
const c = await startShoalCluster({ hosts: 3, prefix: "bench" });
try {
  const sleeper = (name: string, replicas: number, constraints: string[] = []) => ({
    name,
    replicas,
    task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 }, placement: { constraints } },
  });
  const running = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running").length;
  const removeAndWait = async (service: string) => {
    await c.api("DELETE", `/v1/services/${service}`);
    await c.waitFor(`${service} gone`, async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).every((l) => l.length === 0), 120_000);
  };

  const converge: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await c.api("POST", "/v1/services", sleeper(`conv${i}`, 30));
    await c.waitFor("30 running", async () => (await running(`conv${i}`)) === 30, 120_000);
    converge.push((performance.now() - start) / 1000);
    const perHost = await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)));
    if (perHost.flat().length !== 30) throw new Error(`expected 30 containers, engines report ${perHost.flat().length}`);
    await removeAndWait(`conv${i}`);
  }

  // dispatch: a node that only long-polls, and services pinned to it.
  const joinToken = (await c.api("GET", "/v1/swarm/join-tokens")).body.worker;
  const joined = (await (
    await fetch(`${c.controlPlane.url}/v1/agent/join`, {
      method: "POST",
      headers: { authorization: `Bearer ${joinToken}`, "content-type": "application/json" },
      body: JSON.stringify({ description: nodeDescription({ machineId: "bench-dispatch-node", hostname: "dispatch-probe" }) }),
    })
  ).json()) as { nodeId: string; credential: string };
  const poll = async (since: number) =>
    (await (await fetch(`${c.controlPlane.url}/v1/agent/assignments?since=${since}&waitMs=10000`, { headers: { authorization: `Bearer ${joined.credential}` } })).json()) as {
      generation: number;
      tasks: unknown[];
    };
  let generation = (await poll(-1)).generation;
  const dispatch: number[] = [];
  for (let i = 0; i < 15; i++) {
    const waiting = poll(generation);
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    await c.api("POST", "/v1/services", sleeper(`probe${i}`, 1, ["node.hostname==dispatch-probe"]));
    const answer = await waiting;
    dispatch.push(performance.now() - start);
    generation = answer.generation;
    await c.api("DELETE", `/v1/services/probe${i}`);
    generation = (await poll(generation)).generation;
  }
  await c.api("DELETE", `/v1/nodes/${joined.nodeId}?force=true`);

  // RSS of the agent of host 1 running 30 tasks.
  const first = c.hosts.hosts[0]!;
  await c.api("POST", "/v1/services", sleeper("rss", 30, [`node.hostname==${first.name}`]));
  await c.waitFor("30 running on one host", async () => (await running("rss")) === 30, 180_000);
  await new Promise((r) => setTimeout(r, 3000));
  const status = readFileSync(`/proc/${c.agents.get(first.name)!.child.pid}/status`, "utf8");
  const rssMb = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  await removeAndWait("rss");

  await c.api("POST", "/v1/services", sleeper("fo", 30));
  await c.waitFor("30 running", async () => (await running("fo")) === 30, 120_000);
  const victim = c.hosts.hosts[2]!;
  const victimNode = ((await c.api("GET", `/v1/nodes/${victim.name}`)).body as { id: string }).id;
  const killedAt = performance.now();
  await Promise.all([c.agents.get(victim.name)!.kill("SIGKILL"), victim.killEngine()]);
  await c.waitFor(
    "30 running on the survivors",
    async () => {
      const tasks = ((await c.api("GET", "/v1/tasks?service=fo&desired-state=running")).body as { nodeId: string; status: { state: string } }[]).filter(
        (t) => t.status.state === "running" && t.nodeId !== victimNode,
      );
      return tasks.length === 30;
    },
    120_000,
  );
  const failoverS = (performance.now() - killedAt) / 1000;

  console.log(`converge_30_s ${median(converge).toFixed(3)} s`);
  console.log(`dispatch_ms ${median(dispatch).toFixed(1)} ms`);
  console.log(`agent_rss_mb ${rssMb.toFixed(1)} MB`);
  console.log(`failover_s ${failoverS.toFixed(3)} s`);
} finally {
  await c.stop();
}
