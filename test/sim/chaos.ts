/**
 * Chaos run (`npm run chaos`): simulated nodes (test/sim/simulator.ts) against one real Node
 * control plane, for a bounded time, under random node deaths, partitions that heal, agent
 * restarts, control-plane SIGKILLs and restarts, and user scale and update calls. Then it
 * heals every partition, waits for the cluster to settle and checks Swarm's invariants:
 *  - at most one running task per slot, and every slot's replica running, on a ready node,
 *    with the service's current image;
 *  - no task meant to run (desired running) on a down node;
 *  - no acknowledged write lost: each service has the replicas and image of its last
 *    acknowledged call (or of a later call whose answer was lost to a kill);
 *  - every task's state moved only forward (its events, in order).
 * CHAOS_NODES (default 1000), CHAOS_SECONDS (default 180), CHAOS_SEED (random, printed).
 * Prints `name value unit` lines; exits 1 with the violations on a failure.
 */
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { rank, taskStates, type TaskState } from "../../src/domain/task-states.js";
import { HttpJsonClient } from "../../src/protocol/http-client.js";
import { mulberry32 } from "../helpers/mulberry.js";
import { endChildrenWithThisProcess, freePort, startNodeServer, tempDir, type Started } from "../helpers/processes.js";
import { Simulator, type SimNode } from "./simulator.js";

const nodeCount = Number(process.env.CHAOS_NODES ?? 1000);
const seconds = Number(process.env.CHAOS_SECONDS ?? 180);
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const settleTimeoutMs = 300_000;

const random = mulberry32(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

interface Task {
  id: string;
  serviceId: string;
  slot: number | null;
  nodeId: string | null;
  desiredState: string;
  status: { state: string };
  image: string;
}
interface Service {
  id: string;
  version: number;
  spec: { name: string; replicas: number; task: { container: { image: string } } };
}
interface NodeView {
  id: string;
  status: { state: string };
}

/** What a user was told: the last acknowledged value, and a later one whose answer was lost. */
interface Expected {
  replicas: number;
  image: string;
  maybeReplicas?: number;
  maybeImage?: string;
}

async function main() {
  const jwtKey = generateJwtSecret();
  const stateDir = tempDir("shoal-chaos-");
  const port = await freePort();
  let server: Started = await startNodeServer({ stateDir, jwtKey, port });
  const url = server.url;
  const api = new HttpJsonClient({ url, token: await rootAdminToken(await importClusterKeys(jwtKey)) });
  const sim = new Simulator({ url, joinToken: (await api.get<{ worker: string }>("/v1/swarm/join-tokens")).worker });
  log(`seed ${seed}: ${nodeCount} nodes for ${seconds} s`);
  const counts = { node_deaths: 0, partitions: 0, agent_restarts: 0, cp_restarts: 0, scale_calls: 0, update_calls: 0, lost_answers: 0 };
  const dead = new Set<SimNode>();
  const healing: Promise<void>[] = [];
  try {
    await sim.add(nodeCount);
    const expected = new Map<string, Expected>();
    for (const [name, perNode] of [
      ["web", 2],
      ["api", 0.5],
    ] as const) {
      const replicas = Math.max(1, Math.round(nodeCount * perNode));
      await api.call("POST", "/v1/services", { body: { name, replicas, task: { container: { image: "busybox:1" } } } });
      expected.set(name, { replicas, image: "busybox:1" });
    }
    await settled(api, expected, "the first convergence");

    /** A user call: acknowledged, refused, or its answer lost to a kill (then either outcome may stand). */
    const userCall = async (name: string, change: Partial<Expected>, send: () => Promise<unknown>) => {
      const e = expected.get(name)!;
      try {
        await send();
        expected.set(name, { ...e, ...change, maybeReplicas: undefined, maybeImage: undefined });
      } catch (err) {
        if ((err as { status?: number }).status !== undefined && (err as { status: number }).status < 500) throw err;
        counts.lost_answers++;
        expected.set(name, { ...e, maybeReplicas: change.replicas ?? e.maybeReplicas, maybeImage: change.image ?? e.maybeImage });
      }
    };
    let lastCpKill = Date.now();
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      await sleep(between(200, 1200));
      const alive = sim.nodes.filter((n) => !dead.has(n));
      const roll = random();
      if (roll < 0.1 && dead.size < nodeCount * 0.05) {
        const node = pick(alive);
        dead.add(node);
        counts.node_deaths++;
        await node.kill();
      } else if (roll < 0.3) {
        // A partition: the node stops calling in for a while, its containers go on running.
        const node = pick(alive);
        counts.partitions++;
        await node.kill();
        healing.push(
          sleep(between(2000, 15_000)).then(() => {
            if (!dead.has(node)) node.start();
          }),
        );
      } else if (roll < 0.4) {
        const node = pick(alive);
        counts.agent_restarts++;
        await node.kill();
        await sleep(between(100, 1000));
        node.start();
      } else if (roll < 0.45 && Date.now() - lastCpKill > 30_000) {
        counts.cp_restarts++;
        lastCpKill = Date.now();
        await server.kill();
        await sleep(between(500, 5000));
        server = await startNodeServer({ stateDir, jwtKey, port });
      } else if (roll < 0.75) {
        const name = pick(["web", "api"]);
        const replicas = between(Math.ceil(nodeCount * 0.25), nodeCount * 2);
        counts.scale_calls++;
        await userCall(name, { replicas }, () => api.call("POST", "/v1/services/scale", { body: { services: { [name]: replicas } } }));
      } else {
        const name = pick(["web", "api"]);
        const image = `busybox:${between(1, 50)}`;
        counts.update_calls++;
        await userCall(name, { image }, async () => {
          const current = await api.get<Service>(`/v1/services/${name}`);
          const spec = { ...current.spec, task: { ...current.spec.task, container: { ...current.spec.task.container, image } } };
          await api.call("PUT", `/v1/services/${current.id}`, { query: { version: String(current.version) }, body: spec });
        });
      }
    }
    log(`chaos over: ${JSON.stringify(counts)}; healing partitions`);
    await Promise.all(healing);
    for (const node of sim.nodes) if (!dead.has(node)) node.start();
    const t0 = performance.now();
    const resolved = await settled(api, expected, "the cluster to settle");
    const settleS = (performance.now() - t0) / 1000;
    const violations = await invariants(api, resolved, new Set([...dead].map((n) => n.nodeId)));
    for (const [k, v] of Object.entries(counts)) console.log(`${k} ${v} count`);
    console.log(`dead_nodes ${dead.size} count`);
    console.log(`settle_s ${settleS.toFixed(1)} s`);
    console.log(`violations ${violations.length} count`);
    if (violations.length) {
      process.stdout.write(`seed ${seed}: ${violations.slice(0, 50).join("\n")}\n`);
      process.exitCode = 1;
    }
  } finally {
    await sim.stop();
    await server.stop();
  }
}

/**
 * Waits until each service runs exactly its expected replicas with its expected image on ready
 * nodes (either value of a call whose answer was lost); returns the values that stand.
 */
async function settled(api: HttpJsonClient, expected: Map<string, Expected>, what: string): Promise<Map<string, { replicas: number; image: string }>> {
  const deadline = Date.now() + settleTimeoutMs;
  let logged = Date.now();
  for (;;) {
    const standing = new Map<string, { replicas: number; image: string }>();
    const progress: string[] = [];
    try {
      const nodes = await api.get<NodeView[]>("/v1/nodes");
      const ready = new Set(nodes.filter((n) => n.status.state === "ready").map((n) => n.id));
      for (const [name, e] of expected) {
        const service = await api.get<Service>(`/v1/services/${name}`);
        const tasks = await api.get<Task[]>("/v1/tasks", { service: name });
        const running = tasks.filter((t) => t.desiredState === "running" && t.status.state === "running");
        const stopping = tasks.filter((t) => t.desiredState !== "running" && t.status.state === "running" && t.nodeId && ready.has(t.nodeId));
        const { replicas, task } = service.spec;
        const image = task.container.image;
        const okSpec = (replicas === e.replicas || replicas === e.maybeReplicas) && (image === e.image || image === e.maybeImage);
        const okTasks = running.length === replicas && stopping.length === 0 && running.every((t) => t.nodeId && ready.has(t.nodeId) && t.image === image);
        progress.push(`${name}: ${running.length}/${replicas} running (${image})`);
        if (okSpec && okTasks) standing.set(name, { replicas, image });
      }
    } catch (err) {
      progress.push(String(err));
    }
    if (standing.size === expected.size) return standing;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${progress.join("; ")}`);
    if (Date.now() - logged > 10_000) {
      log(`waiting for ${what}: ${progress.join("; ")}`);
      logged = Date.now();
    }
    await sleep(1000);
  }
}

async function invariants(api: HttpJsonClient, standing: Map<string, { replicas: number; image: string }>, deadNodes: Set<string>): Promise<string[]> {
  const violations: string[] = [];
  const nodes = await api.get<NodeView[]>("/v1/nodes");
  const down = new Set(nodes.filter((n) => n.status.state !== "ready").map((n) => n.id));
  for (const id of deadNodes) if (!down.has(id)) violations.push(`node ${id} died but is ${nodes.find((n) => n.id === id)?.status.state}`);
  for (const [name, { replicas }] of standing) {
    const tasks = await api.get<Task[]>("/v1/tasks", { service: name });
    const runningPerSlot = new Map<number, number>();
    for (const t of tasks) {
      if (t.status.state === "running" && t.nodeId && !down.has(t.nodeId)) runningPerSlot.set(t.slot!, (runningPerSlot.get(t.slot!) ?? 0) + 1);
      if (t.desiredState === "running" && t.nodeId && down.has(t.nodeId)) violations.push(`${name}: task ${t.id} is meant to run on down node ${t.nodeId}`);
    }
    for (const [slot, n] of runningPerSlot) if (n > 1) violations.push(`${name}: slot ${slot} has ${n} running tasks`);
    for (let slot = 1; slot <= replicas; slot++) if (!runningPerSlot.has(slot)) violations.push(`${name}: slot ${slot} has no running task`);
  }
  // Every task's states in the order its events recorded them.
  const states = new Set<string>(taskStates);
  const last = new Map<string, TaskState>();
  for (let after = 0; ; ) {
    const page = await api.get<{ events: { action: string; actor: { id: string; attributes: Record<string, string> } }[]; cursor: number }>("/v1/events", {
      type: "task",
      after: String(after),
      limit: "10000",
    });
    for (const e of page.events) {
      const state = (e.action === "create" ? e.actor.attributes.state : e.action) as TaskState | undefined;
      if (!state || !states.has(state)) continue;
      const before = last.get(e.actor.id);
      if (before && rank(state) < rank(before)) violations.push(`task ${e.actor.id} went from ${before} back to ${state}`);
      last.set(e.actor.id, state);
    }
    if (page.cursor === after) break;
    after = page.cursor;
  }
  return violations;
}

endChildrenWithThisProcess();
await main();
