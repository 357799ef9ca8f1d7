import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { stream } from "hono/streaming";
import { deleteLogChunks, deleteLogSession, insertLogSession, listLogChunks, renewLogSession, upsertLogSessionNode, logSessionKey, type LogSessionRow } from "../../db/logs.js";
import { listNodes } from "../../db/nodes.js";
import { getService } from "../../db/services.js";
import { getTask, listServiceTasks, type TaskRow } from "../../db/tasks.js";
import { LogMerger, type LogRecord, type LogTask } from "../../domain/log-lines.js";
import { parseEventTime } from "../../events/event-filter.js";
import { newId } from "../../ids.js";
import { strictObject } from "../../protocol/schema.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps, AppEnv } from "../../http/context.js";
import { notFound } from "../../http/errors.js";
import { bearer, errorResponses } from "../../http/openapi.js";
import { newRouter } from "../../http/router.js";
import { resolveService } from "../service-writes.js";
import { timeArg } from "./events.js";
import { ServiceRefParam } from "./services.js";
import { TaskIdParam } from "./tasks.js";

/** Lines of different hosts arriving this close together are still put in time order. */
const mergeHoldMs = 300;
/** How long the reader waits for a node's backlog before going on without it (and saying so). */
const backlogWaitMs = 15_000;
/** A following reader renews its session this often, for this long: a reader that vanished ends within that. */
const renewEveryMs = 10_000;
const sessionLeaseMs = 30_000;
/** A session not following gets this long to deliver. */
const sessionLifetimeMs = 2 * 60_000;
/** Chunks nobody read (a reader that vanished) are deleted after this long. */
export const logChunkTtlMs = 10 * 60_000;
/** The reader re-reads the chunk table this often when nothing woke it (Workers: always). */
const pollMs = 500;
/** A following reader of a service looks for tasks placed since it started this often. */
const relistEveryMs = 1000;
const chunkPage = 100;
/** The backlog is sorted whole up to this many lines; past it, what is held goes out sorted and the rest follows. */
const maxHeldLines = 100_000;

const tailRule = "a number of lines (0 or more) or all";

const LogsQuery = strictObject({
  follow: z.enum(["true", "false", "1", "0"]).optional().openapi({ description: "Keep sending new lines until the client goes away" }),
  tail: z.string().max(12).regex(/^(all|\d{1,9})$/, tailRule).optional().openapi({ description: `Last lines per task: ${tailRule} (default all)` }),
  since: timeArg("Lines at or after this time"),
});

const ndjson = {
  description:
    "Newline-delimited JSON records: `{kind: \"tasks\", tasks, replicas}` first, then `{kind: \"line\", taskId, stream, time, text}` in time order, " +
    "`{kind: \"warning\", message}` for nodes that could not answer, and `{kind: \"end\"}` once every node sent all it had (never, with `follow`)",
  content: { "application/x-ndjson": { schema: z.string() } },
};

/** The route types read every media type naming JSON as a JSON body, x-ndjson too; this one is a stream of them. */
export const asStream = (res: Response) => res as never;

/** The tasks that may have a container: their agent took them (past assigned, when it creates one). */
const placed = (t: TaskRow) => t.nodeId !== null && t.state !== "new" && t.state !== "pending" && t.state !== "assigned";

/** How a log answer is written: shoal's NDJSON records, or another encoding of them (the Docker API's frames). */
export interface LogEncoding {
  contentType: string;
  encode(records: LogRecord[]): string | Uint8Array;
}

const ndjsonEncoding: LogEncoding = {
  contentType: "application/x-ndjson; charset=utf-8",
  encode: (records) => records.map((r) => `${JSON.stringify(r)}\n`).join(""),
};

export type LogQuery = z.infer<typeof LogsQuery>;

/**
 * The reader's half of the log relay (Swarm's SubscribeLogs): opens a session per
 * request, one row per node that runs or ran a task of it, wakes those nodes (their
 * long-poll answers with the session), and streams the lines they post as they come,
 * merged by time, until every node has caught up (not following) or the client leaves.
 * It only reads the store and waits on the notifier, so it runs the same on Workers.
 * The one reader of the relay, for shoal's API and the Docker API alike.
 */
export async function streamLogs(
  deps: AppDeps,
  c: Context<AppEnv>,
  q: LogQuery,
  tasks: TaskRow[],
  serviceNames: Map<string, string>,
  replicas: number | null,
  encoding: LogEncoding = ndjsonEncoding,
  /** The service's tasks now: a following reader picks up those placed after it started, as docker service logs -f does. */
  relist?: () => Promise<TaskRow[]>,
) {
  const now = c.get("now");
  const follow = q.follow === "true" || q.follow === "1";
  const tail = q.tail === undefined || q.tail === "all" ? null : Number(q.tail);
  const sinceMs = q.since === undefined ? null : parseEventTime(q.since, now)!;
  const nodes = new Map((await listNodes(deps.db)).map((n) => [n.id, n]));
  const warnings: string[] = [];
  const byNode = new Map<string, string[]>();
  for (const t of tasks.filter(placed)) {
    const node = nodes.get(t.nodeId!);
    // Swarm's log broker marks nodes it cannot reach done at once, with this reason.
    if (!node || node.state !== "ready") {
      if (!byNode.has(t.nodeId!)) warnings.push(`node ${node?.hostname ?? t.nodeId} is not available: its tasks' logs are missing`);
      byNode.set(t.nodeId!, []);
      continue;
    }
    byNode.set(t.nodeId!, [...(byNode.get(t.nodeId!) ?? []), t.id]);
  }
  const sessionId = newId("log");
  const rowOf = (nodeId: string, taskIds: string[], at: number): LogSessionRow => ({
    id: sessionId,
    nodeId,
    createdAt: at,
    expiresAt: at + (follow ? sessionLeaseMs : sessionLifetimeMs),
    taskIds,
    follow,
    tail,
    sinceMs,
    caughtUpAt: null,
  });
  const rows = [...byNode].filter(([, taskIds]) => taskIds.length > 0).map(([nodeId, taskIds]) => rowOf(nodeId, taskIds, now));
  const served = new Set(rows.map((r) => r.nodeId));
  const waiting = new Set(served);
  if (rows.length) await insertLogSession(deps.db, rows, now, logChunkTtlMs);
  deps.notifier.notify(waiting);
  const logTaskOf = (t: TaskRow): LogTask => ({
    id: t.id,
    serviceId: t.serviceId,
    serviceName: serviceNames.get(t.serviceId) ?? t.serviceId,
    slot: t.slot,
    nodeId: t.nodeId!,
    nodeName: nodes.get(t.nodeId!)?.hostname ?? t.nodeId!,
  });
  const logTasks = tasks.filter(placed).map(logTaskOf);
  const known = new Set(logTasks.map((t) => t.id));

  /**
   * Tasks placed since the last look, on nodes that can answer: their nodes' rows name them
   * (a node new to the session gets one) and are woken; the caller announces them in a `tasks` record.
   * A task on a node that is down is left for a later look.
   */
  const pickUpNewTasks = async (): Promise<LogTask[]> => {
    const fresh = (await relist!()).filter((t) => placed(t) && !known.has(t.id));
    if (fresh.length === 0) return [];
    // Their nodes as they are now (one may have joined or come back since the reader started).
    for (const n of await listNodes(deps.db)) nodes.set(n.id, n);
    const added = fresh.filter((t) => nodes.get(t.nodeId!)?.state === "ready");
    const at = deps.clock.now();
    const touched = new Set<string>();
    for (const t of added) {
      known.add(t.id);
      byNode.set(t.nodeId!, [...(byNode.get(t.nodeId!) ?? []), t.id]);
      touched.add(t.nodeId!);
    }
    for (const nodeId of touched) {
      await upsertLogSessionNode(deps.db, rowOf(nodeId, byNode.get(nodeId)!, at));
      served.add(nodeId);
    }
    deps.notifier.notify(touched);
    return added.map(logTaskOf);
  };

  c.header("content-type", encoding.contentType);
  c.header("cache-control", "no-store");
  return stream(
    c,
    async (s) => {
      const write = (records: LogRecord[]) => (records.length ? s.write(encoding.encode(records)) : Promise.resolve(s));
      const merger = new LogMerger(mergeHoldMs);
      const started = performance.now();
      let renewedAt = started;
      let relistedAt = started;
      let cursor = 0;
      let caughtUp = false;
      try {
        await write([{ kind: "tasks", tasks: logTasks, replicas }]);
        while (!s.aborted) {
          const page = await listLogChunks(deps.db, sessionId, cursor, chunkPage);
          const t = performance.now();
          for (const chunk of page) {
            cursor = chunk.id;
            merger.add(chunk.lines, t);
            if (chunk.caughtUp) waiting.delete(chunk.nodeId);
          }
          if (page.length) await deleteLogChunks(deps.db, sessionId, cursor);
          if (!caughtUp && waiting.size > 0 && t - started > backlogWaitMs) {
            for (const nodeId of waiting) warnings.push(`node ${nodes.get(nodeId)?.hostname ?? nodeId} sent no logs within ${backlogWaitMs / 1000} s`);
            waiting.clear();
          }
          if (!caughtUp && waiting.size === 0) {
            caughtUp = true;
            await write(merger.take(t, true).map((l) => ({ kind: "line", ...l })));
            await write(warnings.splice(0).map((message) => ({ kind: "warning", message })));
            if (!follow) {
              await write([{ kind: "end" }]);
              return;
            }
          }
          // Before every node caught up only an overflowing backlog goes out; after, lines go once their merge window passed.
          if (caughtUp || merger.size > maxHeldLines) await write(merger.take(t, !caughtUp).map((l) => ({ kind: "line", ...l })));
          if (page.length === chunkPage) continue;
          if (follow && relist && t - relistedAt > relistEveryMs) {
            relistedAt = t;
            const added = await pickUpNewTasks();
            if (added.length) await write([{ kind: "tasks", tasks: added, replicas }]);
          }
          if (follow && t - renewedAt > renewEveryMs) {
            renewedAt = t;
            await renewLogSession(deps.db, sessionId, deps.clock.now() + sessionLeaseMs);
          }
          await deps.notifier.wait(logSessionKey(sessionId), pollMs);
        }
      } finally {
        // The session ends with its reader: its nodes stop at their next poll (woken now, on Node).
        await deleteLogSession(deps.db, sessionId);
        deps.notifier.notify(served);
      }
    },
    async (err) => deps.logger.error("log stream failed", { session: sessionId, error: err.stack ?? String(err) }),
  );
}

/** GET /v1/services/{id}/logs and /v1/tasks/{id}/logs. */
export function logRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/services/{id}/logs",
      tags: ["services"],
      summary: "Logs of a service's tasks (docker service logs)",
      description:
        "Every host that runs or ran a task of the service reads its containers' logs and sends them over its own outbound connection; " +
        "stdout and stderr stay apart. A host that is down is named in a warning.",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: ServiceRefParam, query: LogsQuery },
      responses: { 200: ndjson, ...errorResponses },
    }),
    async (c) => {
      const service = await resolveService(deps.db, c.req.valid("param").id);
      const replicas = service.spec.mode === "replicated" || service.spec.mode === "replicated-job" ? service.spec.replicas : null;
      const relist = () => listServiceTasks(deps.db, service.id);
      return asStream(await streamLogs(deps, c, c.req.valid("query"), await relist(), new Map([[service.id, service.name]]), replicas, undefined, relist));
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/tasks/{id}/logs",
      tags: ["tasks"],
      summary: "Logs of one task (docker service logs TASK)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: TaskIdParam, query: LogsQuery },
      responses: { 200: ndjson, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const task = await getTask(deps.db, id);
      if (!task) throw notFound("task", id);
      const service = await getService(deps.db, task.serviceId);
      return asStream(await streamLogs(deps, c, c.req.valid("query"), [task], new Map([[task.serviceId, service?.name ?? task.serviceId]]), null));
    },
  );

  return app;
}
