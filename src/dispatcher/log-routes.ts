import { createRoute } from "@hono/zod-openapi";
import { won } from "../db/cas.js";
import { access } from "../http/access.js";
import { reconciled } from "../http/pipeline.js";
import type { AppDeps } from "../http/context.js";
import { ApiError } from "../http/errors.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../http/openapi.js";
import { newRouter } from "../http/router.js";
import { sha256Hex } from "../auth/sha256.js";
import type { Db } from "../db/client.js";
import { claimExecSession, endExecSession, getExecSession, listNodeExecSessions } from "../db/exec.js";
import { getLogSession, insertLogChunk, listNodeLogSessions, logSessionKey } from "../db/logs.js";
import { ExecReport, LogBatch, LogBatchAck, agentV1Paths, type ExecSession, type LogSession } from "../protocol/agent-v1.js";

/**
 * The log sessions a node serves now and the commands it is to start, and their token
 * (what the agent passes back as `logSince`): the assignment long-poll answers at once
 * when the token changes, so a new session reaches the agent without waiting out the
 * poll. Called by that poll.
 */
export async function nodeRelaySessions(db: Db, nodeId: string, now: number): Promise<{ token: string; sessions: LogSession[]; execs: ExecSession[] }> {
  const [rows, execRows] = await Promise.all([listNodeLogSessions(db, nodeId, now), listNodeExecSessions(db, nodeId, now)]);
  const sessions = rows.map((r) => ({ id: r.id, taskIds: r.taskIds, follow: r.follow, tail: r.tail, sinceMs: r.sinceMs }));
  const execs = execRows.map((r) => ({ id: r.id, taskId: r.taskId, cmd: r.cmd }));
  // A session's task list grows when a following reader picks up new tasks: that changes the token too.
  const ids = [...sessions.map((s) => `${s.id}:${s.taskIds.join("+")}`), ...execs.map((e) => e.id)];
  const token = ids.length === 0 ? "" : (await sha256Hex(ids.join(","))).slice(0, 16);
  return { token, sessions, execs };
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
      middleware: [access(deps, "node"), reconciled(deps)],
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

  app.openapi(
    createRoute({
      method: "post",
      path: agentV1Paths.exec,
      tags: ["agent"],
      summary: "Claim a command, send its output and its exit",
      description:
        "The first post claims the command (`claim: true`), so it runs once; later ones carry its output, the last its `exit`. " +
        "Answers `open: false` for a command of another node, one already claimed, or one whose caller went away.",
      security: bearer,
      middleware: [access(deps, "node"), reconciled(deps)],
      request: { body: jsonBody(ExecReport) },
      responses: { 200: jsonResponse(LogBatchAck, "Stored, or the command is not (or no longer) this call's"), ...errorResponses },
    }),
    async (c) => {
      const { execId, claim, output, exit } = c.req.valid("json");
      const nodeId = c.get("node")!.id;
      const now = c.get("now");
      const session = await getExecSession(deps.db, execId);
      if (!session || session.nodeId !== nodeId) return c.json({ open: false }, 200);
      if (claim) {
        if (!(await won(claimExecSession(deps.db, execId, nodeId, now)))) return c.json({ open: false }, 200);
      } else if (session.startedAt === null) throw new ApiError("conflict", "claim the command first (claim: true)", [{ path: "body.claim", message: "the first post claims the command" }]);
      // The exit is written before the chunk that marks it, so the reader that sees the mark reads the exit code.
      if (exit) await endExecSession(deps.db, execId, exit.exitCode, exit.error ?? null, now);
      const time = new Date(now).toISOString();
      if (output.length || exit)
        await insertLogChunk(deps.db, execId, nodeId, output.map((o) => ({ taskId: session.taskId, stream: o.stream, time, text: o.data })), exit !== undefined, now);
      deps.notifier.notify([logSessionKey(execId)]);
      return c.json({ open: exit === undefined }, 200);
    },
  );

  return app;
}
