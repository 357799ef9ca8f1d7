import { createRoute, z } from "@hono/zod-openapi";
import { retryOnConflict } from "../../db/cas.js";
import { listVirtualIps, type VirtualIp } from "../../db/networks.js";
import {
  countServiceTasks,
  listServices,
  scaleServices,
  type ServiceRow,
  type ServiceTaskCounts,
} from "../../db/services.js";
import { updateStates } from "../../domain/service-spec.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError, versionConflict } from "../../http/errors.js";
import { filterServices } from "../service-filters.js";
import { OptionalVersionQuery, VersionQuery, bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { isoTime, repeated } from "../schemas.js";
import { ServiceSpecSchema } from "../../protocol/service-spec-schema.js";
import { registryAuthFromHeader } from "../registry-auth-header.js";
import { createService, removeService, replaceServiceSpec, resolveService, rollBackService } from "../service-writes.js";

const registryAuthNote =
  " An `X-Registry-Auth` header (base64url of Docker's JSON `{\"username\",\"password\",\"serveraddress\"}` or `{\"identitytoken\"}`, as `--with-registry-auth` sends it)" +
  " stores the credentials the nodes pull the image with, encrypted; no answer ever shows them. Without it, the stored ones are kept.";

const UpdateStatusSchema = z
  .object({
    state: z.enum(updateStates),
    message: z.string(),
    startedAt: z.iso.datetime(),
    completedAt: z.iso.datetime().optional(),
  })
  .openapi("UpdateStatus", { description: "The last rolling update or rollback (absent until the task spec first changes)" });

export const ServiceSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    spec: ServiceSpecSchema,
    previousSpec: ServiceSpecSchema.optional(),
    updateStatus: UpdateStatusSchema.optional(),
    serviceStatus: z.object({
      runningTasks: z.number().int(),
      desiredTasks: z.number().int(),
      completedTasks: z.number().int(),
    }),
    endpoint: z
      .object({
        virtualIps: z
          .array(z.object({ networkId: z.string(), addr: z.string().openapi({ example: "10.0.1.2/24" }) }))
          .openapi({ description: "The service's virtual IP on each network it joins (vip endpoint mode)" }),
      })
      .openapi({ description: "What the allocator gave the service" }),
  })
  .openapi("Service");

export function toService(s: ServiceRow, counts: ServiceTaskCounts | undefined, vips: VirtualIp[] | undefined): z.infer<typeof ServiceSchema> {
  return {
    id: s.id,
    version: s.version,
    createdAt: isoTime(s.createdAt),
    updatedAt: isoTime(s.updatedAt),
    spec: s.spec,
    ...(s.previousSpec ? { previousSpec: s.previousSpec } : {}),
    ...(s.updateStatus
      ? {
          updateStatus: {
            state: s.updateStatus.state,
            message: s.updateStatus.message,
            startedAt: isoTime(s.updateStatus.startedAt),
            ...(s.updateStatus.completedAt !== undefined ? { completedAt: isoTime(s.updateStatus.completedAt) } : {}),
          },
        }
      : {}),
    serviceStatus: {
      runningTasks: counts?.running ?? 0,
      desiredTasks: counts?.desired ?? 0,
      completedTasks: counts?.completed ?? 0,
    },
    endpoint: { virtualIps: vips ?? [] },
  };
}

export const ServiceRefParam = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/, "a service id, id prefix or name")
    .openapi({ param: { name: "id", in: "path" }, description: "Service id, unique id prefix or name" }),
});

const ServiceListQuery = strictObject({
  id: repeated("Service id prefix"),
  name: repeated("Service name prefix"),
  label: repeated("Service label `key` or `key=value`"),
  mode: repeated("replicated, global, replicated-job or global-job"),
});

const ScaleSchema = strictObject({
  services: z
    .record(z.string().min(1).max(128), z.number().int().min(0).max(100_000))
    .refine((r) => Object.keys(r).length > 0, { message: "name at least one service" })
    .openapi({ description: "Service (id, prefix or name) → replicas", example: { web: 3, api: 5 } }),
}).openapi("Scale");

export function serviceRoutes(deps: AppDeps) {
  const app = newRouter();
  const withStatus = async (s: ServiceRow) => {
    const [counts, vips] = await Promise.all([countServiceTasks(deps.db, [s.id]), listVirtualIps(deps.db, [s.id])]);
    return toService(s, counts.get(s.id), vips.get(s.id));
  };

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/services",
      tags: ["services"],
      summary: "Create a service (docker service create)",
      description: registryAuthNote.trim(),
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { body: jsonBody(ServiceSpecSchema) },
      responses: { 201: jsonResponse(ServiceSchema, "The service, its tasks already placed where possible"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const registryAuth = registryAuthFromHeader(c.req.header("x-registry-auth"));
      const row = await createService(deps, c.req.valid("json"), now, registryAuth);
      await c.var.afterWrite();
      return c.json(await withStatus(row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/services",
      tags: ["services"],
      summary: "List services (docker service ls)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: ServiceListQuery },
      responses: { 200: jsonResponse(z.array(ServiceSchema), "Services"), ...errorResponses },
    }),
    async (c) => {
      const f = c.req.valid("query");
      const [rows, counts, vips] = await Promise.all([listServices(deps.db), countServiceTasks(deps.db), listVirtualIps(deps.db)]);
      const selected = filterServices(rows, f);
      return c.json(selected.map((s) => toService(s, counts.get(s.id), vips.get(s.id))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/services/{id}",
      tags: ["services"],
      summary: "Inspect a service",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: ServiceRefParam },
      responses: { 200: jsonResponse(ServiceSchema, "The service"), ...errorResponses },
    }),
    async (c) => c.json(await withStatus(await resolveService(deps.db, c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/services/{id}",
      tags: ["services"],
      summary: "Replace a service's spec (docker service update)",
      description:
        "The whole spec, based on `version`. The mode and the name cannot change. Tasks whose spec changed are replaced, `update.parallelism` at a time." + registryAuthNote,
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: ServiceRefParam, query: VersionQuery, body: jsonBody(ServiceSpecSchema) },
      responses: { 200: jsonResponse(ServiceSchema, "The updated service"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const { version } = c.req.valid("query");
      const requested = c.req.valid("json");
      const registryAuth = registryAuthFromHeader(c.req.header("x-registry-auth"));
      const current = await resolveService(deps.db, c.req.valid("param").id);
      if (current.version !== version) throw versionConflict("service", current.id, version);
      const updated = await replaceServiceSpec(deps, current, requested, now, registryAuth);
      await c.var.afterWrite();
      return c.json(await withStatus(updated), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/services/{id}/rollback",
      tags: ["services"],
      summary: "Roll back to the previous spec (docker service rollback)",
      description:
        "The previous spec becomes the spec (and this one its previous), rolled out with the rollback config. Optional `version` guards against a concurrent change.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: ServiceRefParam, query: OptionalVersionQuery },
      responses: { 200: jsonResponse(ServiceSchema, "The service, rolling back"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const { version } = c.req.valid("query");
      const current = await resolveService(deps.db, c.req.valid("param").id);
      if (version !== undefined && current.version !== version) throw versionConflict("service", current.id, version);
      const updated = await rollBackService(deps, current, now);
      await c.var.afterWrite();
      return c.json(await withStatus(updated), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/services/{id}",
      tags: ["services"],
      summary: "Remove a service and its tasks",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: ServiceRefParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      await removeService(deps, await resolveService(deps.db, c.req.valid("param").id), now);
      await c.var.afterWrite();
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/services/scale",
      tags: ["services"],
      summary: "Scale one or several services (docker service scale)",
      description: "All or nothing. Only replicated services and replicated jobs scale.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { body: jsonBody(ScaleSchema) },
      responses: { 200: jsonResponse(z.array(ServiceSchema), "The scaled services"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const requested = Object.entries(c.req.valid("json").services);
      const ids = await retryOnConflict(async () => {
        const changes = [];
        for (const [ref, replicas] of requested) {
          const service = await resolveService(deps.db, ref);
          if (service.mode !== "replicated" && service.mode !== "replicated-job")
            throw new ApiError("validation_failed", `service ${service.name} is ${service.mode}: only replicated services scale`, [
              { path: `body.services.${ref}`, message: `${service.mode} services do not scale` },
            ]);
          changes.push({ service, replicas });
        }
        await scaleServices(deps.db, deps.keys.clusterId, changes, now);
        return changes.map((ch) => ch.service.id);
      });
      await c.var.afterWrite();
      const [counts, vips, rows] = await Promise.all([countServiceTasks(deps.db, ids), listVirtualIps(deps.db, ids), listServices(deps.db)]);
      return c.json(rows.filter((s) => ids.includes(s.id)).map((s) => toService(s, counts.get(s.id), vips.get(s.id))), 200);
    },
  );

  return app;
}
