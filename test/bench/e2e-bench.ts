/**
 * End-to-end benchmarks on 3 namespaced hosts with real dockerd and agents.
 * Run: npm run bench:e2e (as root). Prints `name value unit` lines, each once measured, and nothing else:
 *  - dns_lookup_ms: the service's name looked up from a container, through Docker's
 *    127.0.0.11 and the agent's responder (median);
 *  - mesh_rps_ratio: requests per second (a new connection each) through the routing
 *    mesh from a host that runs no task of the service, divided by requests per second
 *    from that host straight to a task's ingress address (alternating rounds, medians);
 *  - vip_failover_ms: a task's container killed (`docker kill` returned) → the last new
 *    connection through its service's VIP that still went to it (answered by it, or
 *    not connected within 300 ms: nothing answers at its address), from a client
 *    container on another host opening connections 8 at a time (median over 5 kills);
 *  - converge_30_s: create request → 30 replicas running over 3 hosts (median of runs);
 *  - dispatch_ms: create request → a long-polling node receives its assignment (median);
 *  - agent_rss_mb: resident memory of an agent running 30 tasks;
 *  - failover_s: default settings, 30 replicas on 3 hosts, from killing one host
 *    (engine and agent) until all 30 run again on the others (one run: it costs a host).
 * The network figures are measured inside the container's or host's network namespace
 * (netns-probe.ts), so they take the path a process there takes.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NetworkDocument } from "../../src/protocol/agent-v1.js";
import { nodeDescription } from "../helpers/app.js";
import { shoalContainers, startShoalCluster } from "../e2e/cluster.js";
import { TEST_IMAGE, type E2EHost } from "../e2e/hosts.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runs = Number(process.env.RUNS ?? 3);
// Agents in their hosts' namespaces: each builds its host's overlays.
const c = await startShoalCluster({ hosts: 3, prefix: "bench", agentsInHosts: true });
const probeScript = join(import.meta.dirname, "netns-probe.ts");
/** Runs netns-probe.ts in a network namespace (a path under /var/run/netns or /proc/PID/ns); `started` once it says it began measuring. */
function probeRun<T>(netns: string, args: (string | number)[]): { started: Promise<void>; done: Promise<T> } {
  const child = execFile("nsenter", [`--net=${netns}`, process.execPath, "--import", "tsx", probeScript, ...args.map(String)], { timeout: 120_000 });
  const started = new Promise<void>((resolve) => child.stderr!.on("data", (d: Buffer) => d.toString().includes("started") && resolve()));
  const done = new Promise<T>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.once("close", (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`netns-probe ${args.join(" ")}: exit ${code}`))));
  });
  return { started, done };
}
const probe = <T>(netns: string, args: (string | number)[]) => probeRun<T>(netns, args).done;
try {
  const sleeper = (name: string, replicas: number, constraints: string[] = []) => ({
    name,
    replicas,
    task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 0 }, placement: { constraints } },
  });
  const running = async (service: string) =>
    ((await c.api("GET", `/v1/tasks?service=${service}&desired-state=running`)).body as any[]).filter((t) => t.status.state === "running").length;
  const removeAndWait = async (...services: string[]) => {
    for (const service of services) await c.api("DELETE", `/v1/services/${service}`);
    await c.waitFor(`${services.join(", ")} gone`, async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).every((l) => l.length === 0), 120_000);
  };

  // Networks: web (3 replicas on h1 and h2, publishing 8080 through the mesh) and a client container on h3.
  const [h1, h2, h3] = c.hosts.hosts as [E2EHost, E2EHost, E2EHost];
  const serve = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"];
  const onNet = (name: string, command: string[], constraint: string, extra: object = {}) => ({
    name,
    task: { container: { image: TEST_IMAGE, command, stopGracePeriodMs: 0 }, networks: [{ target: "benchnet", aliases: [] }], placement: { constraints: [constraint] } },
    ...extra,
  });
  await c.api("POST", "/v1/networks", { name: "benchnet" });
  await c.api("POST", "/v1/services", onNet("web", serve, `node.hostname!=${h3.name}`, { replicas: 3, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } }));
  await c.api("POST", "/v1/services", onNet("client", ["sleep", "3600"], `node.hostname==${h3.name}`));
  await c.waitFor("web and client running", async () => (await running("web")) === 3 && (await running("client")) === 1, 120_000);
  const clientContainer = (await shoalContainers(h3)).find((x) => x.name.startsWith("client."))!;
  const clientNs = `/proc/${(await h3.docker(["inspect", "-f", "{{.State.Pid}}", clientContainer.id])).trim()}/ns/net`;
  const h3Ns = `/var/run/netns/${h3.netns}`;
  type Lookup = { ms: number; ips: string[] }[];
  // Until the client's host has set the network up, a lookup may go unanswered.
  const firstIps = (name: string) => probe<Lookup>(clientNs, ["dns", name, 1]).then((l) => l[0]!.ips, () => []);
  const vip = await c.waitFor("web resolves from the client", async () => (await firstIps("web"))[0], 120_000).catch((err) => {
    throw new Error(`${(err as Error).message}\nagent on ${h3.name}:\n${c.agents.get(h3.name)!.output().slice(-3000)}`);
  });

  const lookups = await probe<Lookup>(clientNs, ["dns", "web", 200]);
  if (!lookups.every((l) => l.ips.length === 1 && l.ips[0] === vip)) throw new Error(`web did not always resolve to its VIP ${vip}: ${JSON.stringify(lookups.find((l) => l.ips[0] !== vip))}`);
  const dnsMs = median(lookups.map((l) => l.ms));

  // The mesh from h3 (no web task) against the same host straight to a task's ingress address.
  const mesh = () => (JSON.parse(readFileSync(join(c.agentDirs(h3).state, "network.json"), "utf8")) as NetworkDocument).mesh.find((m) => m.publishedPort === 8080);
  const target = (await c.waitFor("h3's mesh lists web's 3 tasks", async () => mesh()?.targets.length === 3 && mesh()))!.targets[0]!;
  type Load = { answered: number; failed: number };
  const rps = { mesh: [] as number[], direct: [] as number[] };
  const loadMs = 3000;
  for (let i = 0; i < runs; i++)
    for (const [kind, url] of [
      ["direct", `http://${target}/`],
      ["mesh", `http://${h3.ip}:8080/`],
    ] as const) {
      const load = await probe<Load>(h3Ns, ["load", url, loadMs, 4]);
      if (load.failed * 100 > load.answered || load.answered === 0) throw new Error(`${kind} (${url}): ${JSON.stringify(load)}`);
      rps[kind].push(load.answered / (loadMs / 1000));
    }
  console.log(`dns_lookup_ms ${dnsMs.toFixed(2)} ms`);
  console.log(`mesh_rps_ratio ${(median(rps.mesh) / median(rps.direct)).toFixed(3)} ratio`);

  type Watch = { at: number; connected: boolean; answer: string }[];
  const vipFailover: number[] = [];
  // A failed measurement is said on stderr and the other figures still run.
  let failoverError = "";
  try {
    for (let i = 0; i < 5; i++) {
      let seen = "";
      await c.waitFor("3 web tasks answering through the VIP", async () => {
        const log = (await running("web")) === 3 && (await probe<Watch>(clientNs, ["watch", `http://${vip}/`, 1000, 4, 500]));
        const answers = log ? new Set(log.flatMap((l) => (l.answer === "FAILED" ? [] : [l.answer]))) : new Set();
        seen = log ? `${log.length} requests, ${log.filter((l) => !l.connected).length} not connected, answers ${JSON.stringify([...answers])}` : "not 3 running";
        // A busy machine is slow on the odd SYN; a backend still left from the previous kill fails far more.
        return log && log.filter((l) => !l.connected).length * 20 <= log.length && answers.size === 3;
      }, 120_000).catch((err) => {
        throw new Error(`${(err as Error).message} (after ${i} kills; last: ${seen})`);
      });
      const host = [h1, h2][i % 2]!;
      const victim = (await shoalContainers(host)).find((x) => x.name.startsWith("web."))!;
      const watching = probeRun<Watch>(clientNs, ["watch", `http://${vip}/`, 14_000, 8, 300]);
      await watching.started;
      await new Promise((r) => setTimeout(r, 2000));
      await host.docker(["kill", victim.id]);
      const killedAt = Date.now();
      const log = await watching.done;
      const after = log.filter((l) => l.at > killedAt);
      // Reaching it: answered by it before it died, or never connected (nothing answers at its address). With
      // connections every few ms, a third of them to it, it gets none once 1.5 s pass without one; isolated
      // failures later (SYNs a busy machine was slow on, a replacement's first packets) are not its.
      const bad = after.filter((l) => l.answer === victim.id.slice(0, 12) || !l.connected).map((l) => l.at).sort((x, y) => x - y);
      let lastBad = killedAt;
      for (const at of bad) {
        if (at - lastBad >= 1500) break;
        lastBad = at;
      }
      if (!log.some((l) => l.at < killedAt && l.answer === victim.id.slice(0, 12))) throw new Error("the victim answered nothing before it was killed");
      if (!after.some((l) => l.at > lastBad + 1500)) throw new Error(`connections still went to the killed task ${Date.now() - killedAt} ms on`);
      vipFailover.push(lastBad - killedAt);
    }
  } catch (err) {
    failoverError = (err as Error).message;
  }
  await removeAndWait("web", "client");
  await c.waitFor("benchnet removed", async () => (await c.api("DELETE", "/v1/networks/benchnet")).status === 204, 60_000);
  // Printed as measured (the bench prints nothing else), so that a later part failing on a loaded machine keeps them.
  if (failoverError) console.error(`vip_failover_ms not measured: ${failoverError}`);
  else console.log(`vip_failover_ms ${median(vipFailover).toFixed(0)} ms`);

  const converge: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await c.api("POST", "/v1/services", sleeper(`conv${i}`, 30));
    await c.waitFor("30 running", async () => (await running(`conv${i}`)) === 30, 120_000).catch(async (err) => {
      const tasks = (await c.api("GET", `/v1/tasks?service=conv${i}`)).body as { status: { state: string; message?: string; error?: string } }[];
      const states = tasks.map((t) => `${t.status.state} ${t.status.error ?? t.status.message ?? ""}`);
      throw new Error(`${(err as Error).message}; tasks: ${JSON.stringify(states.slice(0, 10))}; agent: ${c.agents.get(c.hosts.hosts[0]!.name)!.output().slice(-2000)}`);
    });
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
