import { createRoute, z } from "@hono/zod-openapi";
import { stream } from "hono/streaming";
import { deleteExecSession, getExecSession, insertExecSession } from "../../db/exec.js";
import { deleteLogChunks, listLogChunks, logSessionKey } from "../../db/logs.js";
import { getNode } from "../../db/nodes.js";
import { getService } from "../../db/services.js";
import { getTask } from "../../db/tasks.js";
import { getApiToken } from "../../db/tokens.js";
import type { ExecRecord } from "../../domain/log-lines.js";
import { newId } from "../../ids.js";
import { strictObject } from "../../protocol/schema.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError, notFound } from "../../http/errors.js";
import { bearer, errorResponses, jsonBody } from "../../http/openapi.js";
import { newRouter } from "../../http/router.js";
import { asStream } from "./logs.js";
import { TaskIdParam } from "./tasks.js";

/** An agent that has not taken the command by then is given up on (the answer says so). */
const claimWaitMs = 15_000;
/** Re-reads the output this often when nothing woke the request (Workers: always). */
const pollMs = 500;
const chunkPage = 100;

const ExecRequest = strictObject({
  cmd: z
    .array(z.string().max(4096, "at most 4096 characters"))
    .min(1, "the command and its arguments, at least the command")
    .max(256, "at most 256 arguments")
    .openapi({ example: ["sh", "-c", "echo hi; exit 3"] }),
}).openapi("ExecRequest");

/**
 * `shoal exec`: runs a command once in a running task's container, through the
 * task's agent and the same relay as service logs (the node's long-poll hands the
 * command over, the agent claims it, runs it with the engine's exec API and posts
 * its output and exit code). Admin tokens only; each one is a `task.exec` event
 * naming the token, the task and the command, written with the session.
 */
export function execRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/tasks/{id}/exec",
      tags: ["tasks"],
      summary: "Run a command in a task's container (shoal exec)",
      description:
        "Not interactive: no stdin, no TTY. The answer is newline-delimited JSON: `{kind: \"output\", stream, data}` as the command writes, " +
        "then `{kind: \"exit\", exitCode}` (or `{kind: \"error\", message}` when its node did not take it). Going away stops the relay, not the command.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: TaskIdParam, body: jsonBody(ExecRequest) },
      responses: {
        200: { description: "The command's output and exit", content: { "application/x-ndjson": { schema: z.string() } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { cmd } = c.req.valid("json");
      const now = c.get("now");
      const task = await getTask(deps.db, id);
      if (!task) throw notFound("task", id);
      if (task.state !== "running" || task.nodeId === null) throw new ApiError("conflict", `task ${id} is not running (${task.state}): only a running task's container can run a command`);
      const node = await getNode(deps.db, task.nodeId);
      if (!node || node.state !== "ready") throw new ApiError("conflict", `node ${node?.hostname ?? task.nodeId} of task ${id} is not available`);
      const credential = c.get("credential");
      const tokenId = credential.kind === "api" ? credential.tokenId : "";
      const [token, service] = await Promise.all([getApiToken(deps.db, tokenId), getService(deps.db, task.serviceId)]);
      const execId = newId("exec");
      await insertExecSession(
        deps.db,
        { id: execId, taskId: id, nodeId: node.id, cmd, createdAt: now, expiresAt: now + claimWaitMs, startedAt: null, endedAt: null, exitCode: null, error: null },
        { service: service?.name ?? task.serviceId, node: node.hostname, command: JSON.stringify(cmd), tokenId, tokenName: token?.name ?? "" },
      );
      deps.notifier.notify([node.id]);

      c.header("content-type", "application/x-ndjson; charset=utf-8");
      c.header("cache-control", "no-store");
      return asStream(
        stream(
          c,
          async (s) => {
            const write = (r: ExecRecord) => s.write(`${JSON.stringify(r)}\n`);
            const started = performance.now();
            let cursor = 0;
            let claimed = false;
            try {
              while (!s.aborted) {
                const page = await listLogChunks(deps.db, execId, cursor, chunkPage);
                for (const chunk of page) {
                  cursor = chunk.id;
                  claimed = true;
                  for (const l of chunk.lines) await write({ kind: "output", stream: l.stream, data: l.text });
                  if (chunk.caughtUp) {
                    const ended = await getExecSession(deps.db, execId);
                    await write({ kind: "exit", exitCode: ended?.exitCode ?? null, ...(ended?.error ? { error: ended.error } : {}) });
                    return;
                  }
                }
                if (page.length) await deleteLogChunks(deps.db, execId, cursor);
                if (page.length === chunkPage) continue;
                if (!claimed && performance.now() - started > claimWaitMs) {
                  claimed = (await getExecSession(deps.db, execId))?.startedAt != null;
                  if (!claimed) {
                    await write({ kind: "error", message: `node ${node.hostname} did not start the command within ${claimWaitMs / 1000} s` });
                    return;
                  }
                }
                await deps.notifier.wait(logSessionKey(execId), pollMs);
              }
            } finally {
              await deleteExecSession(deps.db, execId);
            }
          },
          async (err) => deps.logger.error("exec stream failed", { exec: execId, error: err.stack ?? String(err) }),
        ),
      );
    },
  );

  return app;
}
