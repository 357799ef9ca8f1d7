import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { waitFor } from "../e2e/cluster.js";
import { startNodeServer, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";
import { HttpJsonClient } from "../../src/protocol/http-client.js";
import { Simulator } from "../sim/simulator.js";

interface Task {
  id: string;
  nodeId: string | null;
  desiredState: string;
  status: { state: string };
}

/** The node simulator against a real control plane: what bench:scale and chaos stand on. */
describe("node simulator", () => {
  let server: Started;
  let api: HttpJsonClient;
  let sim: Simulator;
  const running = async (service: string) =>
    (await api.get<Task[]>("/v1/tasks", { service })).filter((t) => t.desiredState === "running" && t.status.state === "running");

  beforeAll(async () => {
    const jwtKey = generateJwtSecret();
    server = await startNodeServer({ stateDir: memoryDir("shoal-sim-"), jwtKey });
    api = new HttpJsonClient({ url: server.url, token: await rootAdminToken(await importClusterKeys(jwtKey)) });
    await api.call("PATCH", "/v1/swarm?version=1", { body: { heartbeatPeriodMs: 500 } });
    const joinToken = (await api.get<{ worker: string }>("/v1/swarm/join-tokens")).worker;
    sim = new Simulator({ url: server.url, joinToken, startDelayMs: 20 });
    await sim.add(20);
  }, 60_000);
  afterAll(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it("joins nodes that the control plane sees ready", async () => {
    const nodes = await api.get<{ status: { state: string } }[]>("/v1/nodes");
    expect(nodes).toHaveLength(20);
    await waitFor("every node ready", async () => (await api.get<{ status: { state: string } }[]>("/v1/nodes")).every((n) => n.status.state === "ready"));
  });

  it("runs a service's tasks: every replica reported running, spread over the nodes", async () => {
    await api.call("POST", "/v1/services", { body: { name: "web", replicas: 40, task: { container: { image: "busybox:1" } } } });
    const tasks = await waitFor("40 running", async () => ((await running("web")).length === 40 ? running("web") : undefined), 30_000);
    const perNode = new Map<string, number>();
    for (const t of tasks) perNode.set(t.nodeId!, (perNode.get(t.nodeId!) ?? 0) + 1);
    expect([...perNode.values()].every((n) => n === 2)).toBe(true);
    const simRunning = sim.nodes.reduce((sum, n) => sum + n.running().length, 0);
    expect(simRunning).toBe(40);
  });

  it("a failed container is replaced; a dead node's tasks run elsewhere", async () => {
    const [victim] = await running("web");
    sim.byId(victim!.nodeId!)!.failTask(victim!.id);
    await waitFor("the failed task replaced", async () => {
      const r = await running("web");
      return r.length === 40 && !r.some((t) => t.id === victim!.id);
    });
    const dead = sim.nodes.slice(0, 3);
    await Promise.all(dead.map((n) => n.kill()));
    const deadIds = new Set(dead.map((n) => n.nodeId));
    await waitFor(
      "40 running, none on the dead nodes",
      async () => {
        const r = await running("web");
        return r.length === 40 && r.every((t) => !deadIds.has(t.nodeId!));
      },
      30_000,
    );
  }, 60_000);
});
