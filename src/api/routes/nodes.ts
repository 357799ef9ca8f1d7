import { createRoute, z } from "@hono/zod-openapi";
import { listNodes, type NodeRow } from "../../db/nodes.js";
import { nodeAvailabilities, nodeRoles, nodeStates } from "../../domain/node.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { filterNodes } from "../node-filters.js";
import { changeNode, removeNode, resolveNode } from "../node-writes.js";
import { VersionQuery, bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { LabelKey, Labels } from "../../protocol/schema.js";
import { isoTime, repeated } from "../schemas.js";

const NodeSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    spec: z.object({ role: z.enum(nodeRoles), availability: z.enum(nodeAvailabilities), labels: z.record(z.string(), z.string()) }),
    description: z.object({
      hostname: z.string(),
      machineId: z.string(),
      platform: z.object({ os: z.string(), architecture: z.string() }),
      resources: z.object({ nanoCpus: z.number().int(), memoryBytes: z.number().int() }),
      engine: z.object({ version: z.string(), labels: z.record(z.string(), z.string()) }),
    }),
    status: z.object({
      state: z.enum(nodeStates),
      message: z.string(),
      addr: z.string(),
      lastHeartbeatAt: z.iso.datetime(),
    }),
  })
  .openapi("Node");

function toNode(n: NodeRow): z.infer<typeof NodeSchema> {
  return {
    id: n.id,
    version: n.version,
    createdAt: isoTime(n.createdAt),
    updatedAt: isoTime(n.updatedAt),
    spec: { role: n.role, availability: n.availability, labels: n.labels },
    description: {
      hostname: n.hostname,
      machineId: n.machineId,
      platform: { os: n.os, architecture: n.architecture },
      resources: { nanoCpus: n.nanoCpus, memoryBytes: n.memoryBytes },
      engine: { version: n.engineVersion, labels: n.engineLabels },
    },
    status: { state: n.state, message: n.stateMessage, addr: n.addr, lastHeartbeatAt: isoTime(n.lastHeartbeatAt) },
  };
}

const NodeListQuery = strictObject({
  id: repeated("Node id prefix"),
  name: repeated("Hostname prefix"),
  role: repeated("worker or manager"),
  membership: repeated("accepted or pending"),
  label: repeated("Engine label `key` or `key=value`"),
  "node.label": repeated("Node label `key` or `key=value`"),
});

const NodeRefParam = z.object({
  id: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9._-]+$/, "a node id, id prefix or hostname: letters, digits, '.', '_' and '-'")
    .openapi({ param: { name: "id", in: "path" }, description: "Node id, unique id prefix or hostname" }),
});

const NodeUpdateSchema = strictObject({
  availability: z.enum(nodeAvailabilities).optional(),
  role: z.enum(nodeRoles).optional().openapi({ description: "manager promotes, worker demotes" }),
  labelAdd: Labels.optional().openapi({ description: "Labels to add or overwrite" }),
  labelRm: z.array(LabelKey).max(256).optional().openapi({ description: "Label keys to remove" }),
})
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: "give at least one change" })
  .openapi("NodeUpdate");

const RemoveQuery = strictObject({
  force: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .openapi({ description: "Remove even a ready node" }),
});

export function nodeRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/nodes",
      tags: ["nodes"],
      summary: "List nodes (docker node ls)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: NodeListQuery },
      responses: { 200: jsonResponse(z.array(NodeSchema), "Nodes"), ...errorResponses },
    }),
    async (c) => c.json(filterNodes(await listNodes(deps.db), c.req.valid("query")).map(toNode), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/nodes/{id}",
      tags: ["nodes"],
      summary: "Inspect a node",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: NodeRefParam },
      responses: { 200: jsonResponse(NodeSchema, "The node"), ...errorResponses },
    }),
    async (c) => c.json(toNode(await resolveNode(deps.db, c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/nodes/{id}",
      tags: ["nodes"],
      summary: "Update a node's availability, role or labels",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: NodeRefParam, query: VersionQuery, body: jsonBody(NodeUpdateSchema) },
      responses: { 200: jsonResponse(NodeSchema, "The updated node"), ...errorResponses },
    }),
    async (c) => {
      const node = await resolveNode(deps.db, c.req.valid("param").id);
      const { version } = c.req.valid("query");
      const { availability, role, labelAdd, labelRm } = c.req.valid("json");
      let labels: Record<string, string> | undefined;
      if (labelAdd || labelRm) {
        labels = { ...node.labels, ...labelAdd };
        for (const key of labelRm ?? []) delete labels[key];
      }
      const updated = await changeNode(deps, node, version, { availability, role, labels }, c.get("now"));
      // A drained node's tasks are shut down and replaced, a label change moves constrained ones: before the answer.
      await c.var.afterWrite();
      return c.json(toNode(updated), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/nodes/{id}",
      tags: ["nodes"],
      summary: "Remove a node",
      description: "Refused for a ready node unless forced. The node's credential stops working at once.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: NodeRefParam, query: RemoveQuery },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const node = await resolveNode(deps.db, c.req.valid("param").id);
      const force = ["true", "1"].includes(c.req.valid("query").force ?? "false");
      await removeNode(deps, node, force, c.get("now"));
      // Its tasks are replaced elsewhere before the answer.
      await c.var.afterWrite();
      return c.body(null, 204);
    },
  );

  return app;
}
