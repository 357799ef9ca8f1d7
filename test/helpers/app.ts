import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { copyFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/app.js";
import type { AppDeps } from "../../src/http/context.js";
import { signApiToken, signJoinToken } from "../../src/auth/credentials.js";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { bootstrapCluster, rootAdminToken } from "../../src/bootstrap.js";
import { schema } from "../../src/db/client.js";
import { createLocalNotifier } from "../../src/dispatcher/notifier.js";
import { insertApiToken } from "../../src/db/tokens.js";
import { cachedBundle } from "../../src/install/agent-bundle.js";
import { memoryDir } from "./temp.js";

/** A stand-in for agent/dist/shoal-agent.mjs (the e2e tests serve the real one). */
export const testAgentBundle = "// shoal agent (test stand-in)\n";
/** A stand-in for the web view's script (test/api/ui.test.ts and the e2e tests serve the real one). */
export const testUiBundle = "// shoal web view (test stand-in)\n";

export const migrationsFolder = new URL("../../migrations", import.meta.url).pathname;

/** A manual clock the test moves. */
export class TestClock {
  constructor(public t = Date.parse("2026-01-01T00:00:00Z")) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

export const silentLogger: AppDeps["logger"] = { info() {}, warn() {}, error() {} };

let migratedFile: Promise<string> | undefined;
/** A database migrated once per test process; each app starts on a copy of it (migrating was a third of an app's set-up). */
function migratedTemplate(): Promise<string> {
  migratedFile ??= (async () => {
    const file = join(memoryDir("shoal-template-"), "shoal.db");
    const client = createClient({ url: `file:${file}` });
    await migrate(drizzle(client, { schema }), { migrationsFolder });
    client.close();
    return file;
  })();
  return migratedFile;
}

/**
 * A real app on a real libSQL file (see temp.ts), migrated, bootstrapped, with
 * a token of every kind. Call `close()` when done.
 */
export async function createTestApp() {
  const dir = memoryDir("shoal-test-");
  copyFileSync(await migratedTemplate(), join(dir, "shoal.db"));
  const client = createClient({ url: `file:${join(dir, "shoal.db")}` });
  const db = drizzle(client, { schema });
  const keys = await importClusterKeys(generateJwtSecret());
  const clock = new TestClock();
  const errors: unknown[] = [];
  const deps: AppDeps = {
    db,
    keys,
    clock,
    logger: { ...silentLogger, error: (message, fields) => errors.push({ message, ...fields }) },
    notifier: createLocalNotifier(),
    agentBundle: cachedBundle(async () => testAgentBundle),
    uiBundle: cachedBundle(async () => testUiBundle),
  };
  await bootstrapCluster(db, keys, clock.now());
  await insertApiToken(db, { id: "tok_reader", name: "reader", scope: "read", createdAt: clock.now() });
  const app = createApp(deps);
  const tokens = {
    admin: await rootAdminToken(keys),
    read: await signApiToken(keys, "tok_reader", "read"),
    joinWorker: await signJoinToken(keys, "worker", 1),
    joinManager: await signJoinToken(keys, "manager", 1),
  };

  /** A JSON request through `app.request`; returns status and parsed body. */
  async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text, headers: res.headers };
  }

  return {
    app,
    deps,
    db,
    client,
    keys,
    clock,
    tokens,
    errors,
    call,
    close() {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** Makes the app log into the returned list (message and fields, one string a line): tests check what was never logged. */
export function captureLogs(t: TestApp): string[] {
  const logged: string[] = [];
  const keep = (message: string, fields?: unknown) => void logged.push(`${message} ${JSON.stringify(fields ?? {})}`);
  t.deps.logger = { info: keep, warn: keep, error: keep };
  return logged;
}

let machineCounter = 0;
/** A valid join description; override what a test cares about. */
export function nodeDescription(overrides: Record<string, unknown> = {}) {
  machineCounter += 1;
  return {
    machineId: `machine-${process.pid}-${machineCounter}`,
    hostname: `host-${machineCounter}`,
    platform: { os: "linux", architecture: "x86_64" },
    resources: { nanoCpus: 2_000_000_000, memoryBytes: 4 * 1024 ** 3 },
    engine: { version: "20.10.24", labels: {} },
    addr: `10.0.0.${(machineCounter % 250) + 1}`,
    ...overrides,
  };
}

/** Joins a node with the worker token; returns its id and credential. */
export async function joinNode(t: TestApp, overrides: Record<string, unknown> = {}) {
  const res = await t.call("POST", "/v1/agent/join", {
    token: t.tokens.joinWorker,
    body: { description: nodeDescription(overrides) },
  });
  if (res.status !== 201) throw new Error(`join failed: ${res.status} ${res.text}`);
  return { id: res.body.nodeId as string, credential: res.body.credential as string };
}
