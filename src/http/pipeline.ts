import type { Context, MiddlewareHandler } from "hono";
import { reconcile } from "../reconcile.js";
import { requireCluster } from "./access.js";
import type { AppDeps, AppEnv } from "./context.js";

/**
 * The request's way into the reconciler (src/reconcile.ts): every route that
 * writes or reads the cluster's state lists one of these middlewares; the
 * Node timer and the Workers cron are the reconciler's only other callers.
 *
 * - `reconciled`, after `access`: before the handler it runs the pass, so a
 *   read sees what expired meanwhile (a node whose lease ran out is down and
 *   its tasks replaced, a restart delay that ended has its task). On Workers
 *   nothing else runs it between two crons, a minute apart; when nothing is
 *   due it costs two indexed reads. Then, as `afterWrites`.
 * - `afterWrites` hands the handler `afterWrite`: a handler that wrote calls
 *   it once its batch is in, before building its answer, so the answer shows
 *   what the write caused (a created service's tasks planned, a drained
 *   node's tasks shut down and replaced). Alone on a route whose handler
 *   authenticates the caller itself (a service hook's token), so no pass
 *   runs for a caller not yet known.
 */
export function reconciled(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await pass(deps, c);
    await afterWrites(deps)(c, next);
  };
}

export function afterWrites(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("afterWrite", () => pass(deps, c));
    await next();
  };
}

/** One pass at the request's time (set by `access`, or now on a route without it). */
async function pass(deps: AppDeps, c: Context<AppEnv>): Promise<void> {
  await reconcile(deps, c.get("cluster") ?? (await requireCluster(deps)), c.get("now") ?? deps.clock.now());
}
