import { createClient } from "@libsql/client";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { nodeDescription } from "../helpers/app.js";
import { startNodeServer, type Started } from "../helpers/processes.js";
import { memoryDir } from "../helpers/temp.js";

/**
 * SIGKILL of the Node server in the middle of a burst of concurrent writes:
 * after a restart every acknowledged write is there and the state is consistent.
 */
describe("durability of the embedded database", () => {
  const stateDir = memoryDir("shoal-durability-");
  const jwtKey = generateJwtSecret();
  let server: Started | undefined;
  afterAll(async () => server?.stop());

  it("keeps every acknowledged write across a SIGKILL", async () => {
    const admin = await rootAdminToken(await importClusterKeys(jwtKey));
    server = await startNodeServer({ stateDir, jwtKey });
    const url = server.url;
    const joinToken = ((await (await fetch(`${url}/v1/swarm/join-tokens`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { worker: string }).worker;

    const acknowledgedTokens = new Set<string>();
    const acknowledgedNodes = new Set<string>();
    let failed = 0;
    let stop = false;
    const post = async (path: string, token: string, body: unknown) => {
      const res = await fetch(url + path, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${res.status}`);
      return res.json() as Promise<any>;
    };
    let n = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const i = n++;
        try {
          if (i % 2) acknowledgedTokens.add((await post("/v1/tokens", admin, { name: `burst-${w}-${i}`, scope: "read" })).id);
          else acknowledgedNodes.add((await post("/v1/agent/join", joinToken, { description: nodeDescription({ machineId: `burst-machine-${i}` }) })).nodeId);
        } catch {
          failed++;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, w) => worker(w));
    // Kill once a good number of writes have been acknowledged, while the burst is still going.
    while (acknowledgedTokens.size + acknowledgedNodes.size < 300) await new Promise((r) => setTimeout(r, 10));
    await server.kill();
    const atKill = acknowledgedTokens.size + acknowledgedNodes.size;
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(clients);
    expect(failed).toBeGreaterThan(0); // requests were in flight when it died

    server = await startNodeServer({ stateDir, jwtKey });
    const get = async (path: string): Promise<any> => (await fetch(server!.url + path, { headers: { authorization: `Bearer ${admin}` } })).json();
    const tokens = new Set((await get("/v1/tokens")).map((t: { id: string }) => t.id));
    const nodes = (await get("/v1/nodes")) as { id: string }[];
    for (const id of acknowledgedTokens) expect(tokens).toContain(id);
    const nodeIds = new Set(nodes.map((x) => x.id));
    for (const id of acknowledgedNodes) expect(nodeIds).toContain(id);
    expect(atKill).toBeGreaterThanOrEqual(300);

    // Consistent: the node count, the join events and the nodes agree, and SQLite finds no corruption.
    expect((await get("/v1/swarm")).status.nodeCount).toBe(nodes.length);
    await server.stop();
    server = undefined;
    const db = createClient({ url: `file:${join(stateDir, "shoal.db")}` });
    expect((await db.execute("PRAGMA integrity_check")).rows[0]![0]).toBe("ok");
    const joins = await db.execute("SELECT count(DISTINCT actor_id) AS n FROM events WHERE type = 'node' AND action = 'join'");
    expect(joins.rows[0]!.n).toBe(nodes.length);
    db.close();
  });
});
