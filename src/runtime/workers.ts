import { createClient } from "@libsql/client/web";
import { drizzle as drizzleD1 } from "drizzle-orm/d1";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql/web";
import { createApp } from "../app.js";
import { requireCluster } from "../http/access.js";
import type { AppDeps } from "../http/context.js";
import { importClusterKeys } from "../auth/keys.js";
import { bootstrapCluster } from "../bootstrap.js";
import { schema, type Db } from "../db/client.js";
import { pollingNotifier } from "../dispatcher/notifier.js";
import { parseRequestTimeoutMs } from "../domain/limits.js";
import { cachedBundle } from "../install/agent-bundle.js";
import { reconcile } from "../reconcile.js";
import { runDeliveryPass } from "../webhooks/deliver.js";
import { fetchSender } from "../webhooks/fetch-sender.js";
import { loadWebhookSettings } from "../webhooks/retry-schedule.js";
import { createDeliveryRunner, type DeliveryRunner } from "../webhooks/runner.js";
// agent/dist/shoal-agent.mjs as a string (wrangler.toml: built by [build], a Text module by [[rules]]).
import agentBundleText from "../../agent/dist/shoal-agent.mjs";
// src/ui/dist/shoal-ui.js, the web view, the same way.
import uiBundleText from "../ui/dist/shoal-ui.js";

/** Bindings and secrets (wrangler.toml, `wrangler secret put`). */
export interface Env {
  /** D1 binding; used when SHOAL_DB_URL is not set. */
  DB?: D1Database;
  /** libSQL over HTTP (e.g. Turso), with its auth token. */
  SHOAL_DB_URL?: string;
  SHOAL_DB_AUTH_TOKEN?: string;
  /** The cluster's signing key (`npm run worker:secret` makes one and prints the admin token it implies). */
  SHOAL_JWT_KEY?: string;
  /** Webhook retry delays in ms, comma-separated, and the per-attempt timeout (see the README). */
  SHOAL_WEBHOOK_RETRY_MS?: string;
  SHOAL_WEBHOOK_TIMEOUT_MS?: string;
  /** The URL users and agents reach the Worker at, when not the request's (e.g. a proxy in front). */
  SHOAL_PUBLIC_URL?: string;
  /** How long a request may take to be handled before it is answered 503 (see the README's Limits). */
  SHOAL_REQUEST_TIMEOUT_MS?: string;
}

function openDb(env: Env): Db {
  if (env.SHOAL_DB_URL)
    return drizzleLibsql(createClient({ url: env.SHOAL_DB_URL, authToken: env.SHOAL_DB_AUTH_TOKEN }), { schema });
  if (env.DB)
    // Same async SQLite surface (select/insert/update/delete/batch) as the libSQL driver.
    return drizzleD1(env.DB, { schema }) as unknown as Db;
  throw new Error("no database: bind a D1 database as DB or set SHOAL_DB_URL");
}

const logger: AppDeps["logger"] = {
  info: (message, fields) => console.log(JSON.stringify({ level: "info", message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: "warn", message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: "error", message, ...fields })),
};

/** Per isolate: one client and one app, reused by every request the isolate serves. */
let setup: Promise<{ deps: AppDeps; app: ReturnType<typeof createApp>; webhooks: DeliveryRunner }> | undefined;

function getSetup(env: Env) {
  setup ??= (async () => {
    if (!env.SHOAL_JWT_KEY) throw new Error("the SHOAL_JWT_KEY secret is not set");
    const deps: AppDeps = {
      db: openDb(env),
      keys: await importClusterKeys(env.SHOAL_JWT_KEY),
      clock: { now: () => Date.now() },
      logger,
      notifier: pollingNotifier,
      publicUrl: env.SHOAL_PUBLIC_URL,
      agentBundle: cachedBundle(async () => agentBundleText),
      uiBundle: cachedBundle(async () => uiBundleText),
      requestTimeoutMs: parseRequestTimeoutMs(env.SHOAL_REQUEST_TIMEOUT_MS),
    };
    await bootstrapCluster(deps.db, deps.keys, deps.clock.now());
    const settings = loadWebhookSettings(env);
    // No timer on Workers: passes run after writes (waitUntil) and on the cron.
    const webhooks = createDeliveryRunner(() => runDeliveryPass({ ...deps, sender: fetchSender, settings }), { clock: deps.clock, logger });
    return { deps, app: createApp(deps), webhooks };
  })().catch((err) => {
    setup = undefined;
    throw err;
  });
  return setup;
}

export default {
  async fetch(request, env, ctx) {
    const { app, webhooks } = await getSetup(env);
    const response = await app.fetch(request, env, ctx);
    // Writes make events: deliver them after the answer, within the request's waitUntil allowance.
    if (request.method !== "GET" && request.method !== "HEAD") ctx.waitUntil(webhooks.nudge());
    return response;
  },
  /** The safety-net reconcile, and webhook retries and fan-out (cron trigger in wrangler.toml). */
  async scheduled(_controller, env, ctx) {
    const { deps, webhooks } = await getSetup(env);
    ctx.waitUntil(requireCluster(deps).then((cluster) => reconcile(deps, cluster, deps.clock.now())).then(() => webhooks.nudge()));
  },
} satisfies ExportedHandler<Env>;
