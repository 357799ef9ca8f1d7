import { createClient } from "@libsql/client";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { HttpJsonClient } from "../../src/protocol/http-client.js";
import { nodeDescription } from "../helpers/app.js";
import { startNodeServer, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";

/**
 * Many clients scaling and updating the same services at once through the real
 * HTTP server: no slot is ever duplicated, no node over-committed, stale
 * versions get 409, and the final state is what the last accepted writes asked.
 */
describe("concurrent writers through the HTTP server", () => {
  const stateDir = memoryDir("shoal-concurrency-");
  const jwtKey = generateJwtSecret();
  let server: Started | undefined;
  afterAll(async () => server?.stop());

  it("keeps slots unique, reservations within capacity and versions honest", async () => {
    const admin = await rootAdminToken(await importClusterKeys(jwtKey));
    server = await startNodeServer({ stateDir, jwtKey });
    const url = server.url;
    const call = async (method: string, path: string, body?: unknown, token = admin) => {
      const res = await new HttpJsonClient({ url, token }).request(method, path, { body });
      return { status: res.status, body: res.body as any };
    };
    const joinToken = (await call("GET", "/v1/swarm/join-tokens")).body.worker;
    // 5 nodes of 2 CPUs; each task reserves 0.5 CPU: at most 20 tasks fit.
    for (let i = 0; i < 5; i++)
      await call("POST", "/v1/agent/join", { description: nodeDescription({ machineId: `conc-machine-${i}`, resources: { nanoCpus: 2e9, memoryBytes: 8 * 1024 ** 3 } }) }, joinToken);
    const spec = (name: string, replicas: number, image = "busybox:1") => ({
      name,
      replicas,
      task: { container: { image }, resources: { reservations: { nanoCpus: 500_000_000 } } },
    });
    for (const name of ["a", "b", "c"]) expect((await call("POST", "/v1/services", spec(name, 2))).status).toBe(201);

    const statuses: number[] = [];
    const clients = Array.from({ length: 12 }, async (_, w) => {
      for (let i = 0; i < 15; i++) {
        const name = ["a", "b", "c"][(w + i) % 3]!;
        if ((w + i) % 2 === 0) {
          statuses.push((await call("POST", "/v1/services/scale", { services: { [name]: (w * 7 + i) % 9 } })).status);
        } else {
          const current = (await call("GET", `/v1/services/${name}`)).body;
          const res = await call("PUT", `/v1/services/${name}?version=${current.version}`, spec(name, current.spec.replicas, `busybox:${w}.${i}`));
          statuses.push(res.status);
        }
      }
    });
    await Promise.all(clients);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses).toContain(200);
    expect(statuses).toContain(409); // some read-modify-writes raced and were refused
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);

    // A final read reconciles whatever is left; then check the invariants in the database itself.
    const services = (await call("GET", "/v1/services")).body as any[];
    await server.stop();
    server = undefined;
    const db = createClient({ url: `file:${join(stateDir, "shoal.db")}` });
    // Updates are stop-first (the default): a slot never has two tasks desired up.
    const dupSlots = await db.execute(
      "SELECT service_id, slot, count(*) AS n FROM tasks WHERE desired_state IN ('ready','running') GROUP BY service_id, slot HAVING count(*) > 1",
    );
    expect(dupSlots.rows).toEqual([]);
    const overCommitted = await db.execute(
      "SELECT n.id, sum(t.reserve_nano_cpus) AS used, n.nano_cpus FROM nodes n JOIN tasks t ON t.node_id = n.id WHERE t.desired_state IN ('ready','running') AND t.state IN ('assigned','accepted','preparing','ready','starting','running') GROUP BY n.id HAVING used > n.nano_cpus",
    );
    expect(overCommitted.rows).toEqual([]);
    // Nothing a write marked is left unreconciled (marks with a time are the update monitor's timers).
    const marked = (await db.execute("SELECT count(*) AS n FROM reconcile_marks WHERE due_at = 0")).rows[0]!;
    expect(marked.n).toBe(0);
    // Each service has exactly its replicas' slots desired up.
    for (const s of services) {
      const slots = await db.execute({
        sql: "SELECT count(DISTINCT slot) AS n FROM tasks WHERE service_id = ? AND desired_state IN ('ready','running')",
        args: [s.id],
      });
      expect(slots.rows[0]!.n, s.spec.name).toBe(s.spec.replicas);
    }
    db.close();
  }, 30_000);
});
