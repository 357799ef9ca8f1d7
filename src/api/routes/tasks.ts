import { createRoute, z } from "@hono/zod-openapi";
import { listNodes } from "../../db/nodes.js";
import { listServices } from "../../db/services.js";
import { getTask, listTasks, taskImages, type TaskRow } from "../../db/tasks.js";
import { desiredStates, taskStates } from "../../domain/task-states.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { notFound } from "../../http/errors.js";
import { bearer, errorResponses, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { isoTime, repeated } from "../schemas.js";

export const TaskSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    name: z.string().openapi({ description: "<service>.<slot>, or <service>.<node id> for global services" }),
    serviceId: z.string(),
    slot: z.number().int().nullable(),
    nodeId: z.string().nullable(),
    desiredState: z.enum(desiredStates),
    status: z.object({
      state: z.enum(taskStates),
      message: z.string(),
      error: z.string(),
      exitCode: z.number().int().nullable(),
      timestamp: z.iso.datetime(),
    }),
    specHash: z.string(),
    image: z.string().openapi({ description: "The image the task runs" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Task");

const TaskListQuery = strictObject({
  service: repeated("Service id or name"),
  node: repeated("Node id or hostname"),
  "desired-state": repeated("running, shutdown or accepted (docker's values), or any desired state"),
  name: repeated("Task name prefix"),
});

export const TaskIdParam = z.object({
  id: z
    .string()
    .regex(/^task_[a-v0-9]{1,40}$/, "a task id such as task_0123…")
    .openapi({ param: { name: "id", in: "path" } }),
});

/** `images`: task spec hash → image (taskImages). */
export const toTask = (t: TaskRow, serviceName: string, images: Map<string, string>): z.infer<typeof TaskSchema> => ({
  id: t.id,
  version: t.version,
  name: `${serviceName}.${t.slot ?? t.nodeId}`,
  serviceId: t.serviceId,
  slot: t.slot,
  nodeId: t.nodeId,
  desiredState: t.desiredState,
  status: { state: t.state, message: t.stateMessage, error: t.error, exitCode: t.exitCode, timestamp: isoTime(t.stateChangedAt) },
  specHash: t.specHash,
  image: images.get(t.specHash) ?? "",
  createdAt: isoTime(t.createdAt),
  updatedAt: isoTime(t.updatedAt),
});

export function taskRoutes(deps: AppDeps) {
  const app = newRouter();
  const serviceNames = async () => new Map((await listServices(deps.db)).map((s) => [s.id, s.name]));

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/tasks",
      tags: ["tasks"],
      summary: "List tasks (docker service ps, docker node ps)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: TaskListQuery },
      responses: { 200: jsonResponse(z.array(TaskSchema), "Tasks"), ...errorResponses },
    }),
    async (c) => {
      const f = c.req.valid("query");
      const [rows, names, nodes, images] = await Promise.all([listTasks(deps.db), serviceNames(), listNodes(deps.db), taskImages(deps.db)]);
      const hostnames = new Map(nodes.map((n) => [n.id, n.hostname]));
      // docker's "accepted" desired-state filter means tasks being started (desired running or ready).
      const desired = new Set((f["desired-state"] ?? []).flatMap((d) => (d === "accepted" ? ["ready", "running"] : [d])));
      const tasks = rows
        .map((t) => ({ row: t, task: toTask(t, names.get(t.serviceId) ?? t.serviceId, images) }))
        .filter(
          ({ row, task }) =>
            (!f.service?.length || f.service.some((s) => s === row.serviceId || s === names.get(row.serviceId))) &&
            (!f.node?.length || f.node.some((n) => n === row.nodeId || (row.nodeId !== null && n === hostnames.get(row.nodeId)))) &&
            (!desired.size || desired.has(row.desiredState)) &&
            (!f.name?.length || f.name.some((n) => task.name.startsWith(n))),
        )
        .map(({ task }) => task);
      return c.json(tasks, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/tasks/{id}",
      tags: ["tasks"],
      summary: "Inspect a task",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: TaskIdParam },
      responses: { 200: jsonResponse(TaskSchema, "The task"), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const task = await getTask(deps.db, id);
      if (!task) throw notFound("task", id);
      const [names, images] = await Promise.all([serviceNames(), taskImages(deps.db, [task.specHash])]);
      return c.json(toTask(task, names.get(task.serviceId) ?? task.serviceId, images), 200);
    },
  );

  return app;
}
