import { afterEach, describe, expect, it } from "vitest";
import type { InStatement } from "@libsql/client";
import { signNodeCredential } from "../../src/auth/credentials.js";
import { chunks } from "../../src/db/cas.js";
import { nodes } from "../../src/db/schema/index.js";
import { fixtureNode } from "../helpers/cluster-fixtures.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

/**
 * Issue 16: a task's status report costs what it changes, not what the cluster
 * holds. The same report is sent at 100 and at 5,000 nodes; the rows it reads
 * are counted at the database client, and no statement it runs may scan the
 * nodes, tasks or address tables (SQLite's query plan says SCAN for that).
 */

const scannedTables = ["nodes", "tasks", "ip_allocations"];

interface Cost {
  statements: InStatement[];
  rowsRead: number;
}

/**
 * The statements that scan a node, task or address table. Run once the
 * measured requests are done: an EXPLAIN of a write is stepped like a write
 * by the client, which leaves it open on its connection.
 */
async function scansOf(t: TestApp, statements: InStatement[]): Promise<string[]> {
  const scans: string[] = [];
  for (const stmt of statements) {
    const { sql, args } = typeof stmt === "string" ? { sql: stmt, args: [] } : { sql: stmt.sql, args: stmt.args ?? [] };
    if (!/^\s*(select|update|delete|insert)/i.test(sql)) continue;
    const plan = await t.client.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args } as InStatement);
    for (const row of plan.rows) {
      const detail = String(row.detail);
      const scan = /^SCAN (\w+)/.exec(detail);
      if (scan && scannedTables.includes(scan[1]!)) scans.push(`${detail} in: ${sql.slice(0, 120)}`);
    }
  }
  return scans;
}

async function measure(t: TestApp, action: () => Promise<unknown>): Promise<Cost> {
  const client = t.client;
  const seen: InStatement[] = [];
  let rowsRead = 0;
  const { execute, batch } = client;
  client.execute = (async (stmt: InStatement) => {
    seen.push(stmt);
    const result = await (execute as (s: InStatement) => ReturnType<typeof execute>).call(client, stmt);
    rowsRead += result.rows.length;
    return result;
  }) as typeof client.execute;
  client.batch = (async (stmts: InStatement[], mode?: Parameters<typeof batch>[1]) => {
    seen.push(...stmts);
    const results = await batch.call(client, stmts, mode);
    for (const r of results) rowsRead += r.rows.length;
    return results;
  }) as typeof client.batch;
  try {
    await action();
  } finally {
    Object.assign(client, { execute, batch });
  }
  return { statements: seen, rowsRead };
}

let app: TestApp | undefined;
afterEach(() => app?.close());

async function clusterOf(nodeCount: number): Promise<TestApp> {
  const t = await createTestApp();
  app = t;
  const lease = t.clock.now() + 24 * 3600_000;
  const rows = Array.from({ length: nodeCount }, (_, i) => fixtureNode(`node_${String(i).padStart(5, "0")}`, { leaseExpiresAt: lease }));
  for (const part of chunks(rows, 25)) await t.db.insert(nodes).values(part);
  const created = await t.call("POST", "/v1/services", {
    token: t.tokens.admin,
    body: { name: "web", replicas: 20, task: { container: { image: "busybox:1" } } },
  });
  expect(created.status).toBe(201);
  return t;
}

async function reportCosts(nodeCount: number): Promise<{ rowsRead: number; statements: number; scans: string[] }[]> {
  const t = await clusterOf(nodeCount);
  const tasks = (await t.call("GET", "/v1/tasks?service=web", { token: t.tokens.admin })).body as { id: string; nodeId: string }[];
  expect(tasks).toHaveLength(20);
  const costs: Cost[] = [];
  // Each report moves one task a step forward, as an agent starting a container sends them.
  for (const [task, state] of [
    [tasks[0]!, "preparing"],
    [tasks[0]!, "running"],
    [tasks[1]!, "running"],
  ] as const) {
    const token = await signNodeCredential(t.keys, task.nodeId, 1, t.clock.now());
    let applied: unknown;
    costs.push(
      await measure(t, async () => {
        applied = (await t.call("POST", "/v1/agent/status", { token, body: { updates: [{ taskId: task.id, state }] } })).body;
      }),
    );
    expect(applied).toEqual({ applied: 1 });
  }
  const out = [];
  for (const c of costs) out.push({ rowsRead: c.rowsRead, statements: c.statements.length, scans: await scansOf(t, c.statements) });
  t.close();
  app = undefined;
  return out;
}

describe("the cost of one status report", () => {
  it("is the same at 100 and at 5,000 nodes, and scans no node, task or address table", async () => {
    const small = await reportCosts(100);
    const large = await reportCosts(5000);
    for (const cost of [...small, ...large]) expect(cost.scans).toEqual([]);
    expect(large.map((c) => c.rowsRead)).toEqual(small.map((c) => c.rowsRead));
    expect(large.map((c) => c.statements)).toEqual(small.map((c) => c.statements));
  }, 120_000);
});
