import { createRoute } from "@hono/zod-openapi";
import { access } from "../api/access.js";
import type { AppDeps } from "../api/context.js";
import { ApiError } from "../api/errors.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../api/openapi.js";
import { newRouter } from "../api/router.js";
import { sha256Hex } from "../auth/sha256.js";
import type { Db } from "../db/client.js";
import { getLogSession, insertLogChunk, listNodeLogSessions } from "../db/logs.js";
import { LogBatch, LogBatchAck, agentV1Paths, type LogSession } from "../protocol/agent-v1.js";

/** The notifier key a session's reader waits on: an agent's batch wakes it (Node; Workers re-read the table). */
export const logSessionKey = (sessionId: string) => `logs:${sessionId}`;

/**
 * The log sessions a node serves now, and their token (what the agent passes back as
 * `logSince`): the assignment long-poll answers at once when the token changes, so a
 * new session reaches the agent without waiting out the poll. Called by that poll.
 */
export async function nodeLogSessions(db: Db, nodeId: string, now: number): Promise<{ token: string; sessions: LogSession[] }> {
  const rows = await listNodeLogSessions(db, nodeId, now);
  const sessions = rows.map((r) => ({ id: r.id, taskIds: r.taskIds, follow: r.follow, tail: r.tail, sinceMs: r.sinceMs }));
  const token = sessions.length === 0 ? "" : (await sha256Hex(sessions.map((s) => s.id).join(","))).slice(0, 16);
  return { token, sessions };
}

/**
 * The agent's half of the log relay (Swarm's PublishLogs): a node posts batches of
 * its tasks' lines for a session it was handed. Only its own rows: a session that
 * does not name this node, or a task the session does not have on it, is refused,
 * so no node can speak for another's tasks.
 */
export function logRelayRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "post",
      path: agentV1Paths.logs,
      tags: ["agent"],
      summary: "Send lines of a log session's tasks",
      description:
        "Lines of the session's tasks on the calling node, with the engine's timestamps. `caughtUp` says the backlog is sent " +
        "(not following: the node is done). Answers `open: false` once the session is over: stop reading and sending.",
      security: bearer,
      middleware: [access(deps, "node")],
      request: { body: jsonBody(LogBatch) },
      responses: { 200: jsonResponse(LogBatchAck, "Stored, or the session is over"), ...errorResponses },
    }),
    async (c) => {
      const { sessionId, lines, caughtUp } = c.req.valid("json");
      const nodeId = c.get("node")!.id;
      const now = c.get("now");
      const session = await getLogSession(deps.db, sessionId, nodeId);
      // An unknown session and one its reader ended look alike to the node: both are over.
      if (!session || session.expiresAt <= now) return c.json({ open: false }, 200);
      const tasks = new Set(session.taskIds);
      const foreign = lines.flatMap((l, i) => (tasks.has(l.taskId) ? [] : [{ path: `body.lines.${i}.taskId`, message: `task ${l.taskId} is not one of this session's tasks on this node` }]));
      if (foreign.length) throw new ApiError("forbidden", "a node may only send lines of its own tasks in the session", foreign.slice(0, 10));
      await insertLogChunk(deps.db, sessionId, nodeId, lines, caughtUp, now);
      deps.notifier.notify([logSessionKey(sessionId)]);
      return c.json({ open: session.follow || !caughtUp }, 200);
    },
  );

  return app;
}
