import { createRoute, z } from "@hono/zod-openapi";
import { isCasFailure } from "../../db/cas.js";
import { signJoinToken } from "../../auth/credentials.js";
import { rotateJoinGeneration, updateClusterSettings, type ClusterRow } from "../../db/cluster.js";
import { nodeRoles } from "../../domain/node.js";
import { schedulingStrategies } from "../../domain/service-spec.js";
import { downAfterMs, effectiveHeartbeatPeriodMs } from "../../domain/liveness.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { newRouter } from "../../http/router.js";
import { versionConflict } from "../../http/errors.js";
import { isoTime } from "../schemas.js";
import { VersionQuery, bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";

const SwarmSpecSchema = z.object({
  heartbeatPeriodMs: z.number().int().openapi({ description: "Base period between agent heartbeats" }),
  missedHeartbeats: z.number().int().openapi({ description: "Heartbeat periods missed before a node is down" }),
  maxHeartbeatsPerSecond: z
    .number()
    .int()
    .openapi({ description: "The period handed to agents grows with the cluster to stay under this rate" }),
  taskHistoryLimit: z.number().int().openapi({ description: "Old tasks kept per slot" }),
  defaultStrategy: z.enum(schedulingStrategies).openapi({ description: "Scheduling strategy of services that name none" }),
});

const SwarmSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    spec: SwarmSpecSchema,
    status: z.object({
      nodeCount: z.number().int(),
      heartbeatPeriodMs: z.number().int().openapi({ description: "The period agents are told to use now" }),
      downAfterMs: z.number().int().openapi({ description: "Silence after which a node is marked down" }),
    }),
  })
  .openapi("Swarm");

const SwarmSpecUpdateSchema = strictObject({
  heartbeatPeriodMs: z.number().int().min(500).max(300_000).optional(),
  missedHeartbeats: z.number().int().min(1).max(100).optional(),
  maxHeartbeatsPerSecond: z.number().int().min(1).max(1_000_000).optional(),
  taskHistoryLimit: z.number().int().min(0).max(100).optional(),
  defaultStrategy: z.enum(schedulingStrategies).optional(),
})
  .refine((v) => Object.keys(v).length > 0, { message: "give at least one setting to change" })
  .openapi("SwarmSpecUpdate");

const JoinTokensSchema = z
  .object({ worker: z.string(), manager: z.string() })
  .openapi("JoinTokens", { description: "Give one to an agent to join with that role" });

const RoleParam = z.object({ role: z.enum(nodeRoles).openapi({ param: { name: "role", in: "path" } }) });



function toSwarm(c: ClusterRow): z.infer<typeof SwarmSchema> {
  return {
    id: c.id,
    version: c.version,
    createdAt: isoTime(c.createdAt),
    updatedAt: isoTime(c.updatedAt),
    spec: {
      heartbeatPeriodMs: c.heartbeatPeriodMs,
      missedHeartbeats: c.missedHeartbeats,
      maxHeartbeatsPerSecond: c.maxHeartbeatsPerSecond,
      taskHistoryLimit: c.taskHistoryLimit,
      defaultStrategy: c.defaultStrategy,
    },
    status: { nodeCount: c.nodeCount, heartbeatPeriodMs: effectiveHeartbeatPeriodMs(c), downAfterMs: downAfterMs(c) },
  };
}

/** The join tokens of the cluster's current generations (shoal's and the Docker API's swarm routes). */
export const currentJoinTokens = async (keys: AppDeps["keys"], cluster: ClusterRow) => ({
  worker: await signJoinToken(keys, "worker", cluster.workerJoinGeneration),
  manager: await signJoinToken(keys, "manager", cluster.managerJoinGeneration),
});

export function swarmRoutes(deps: AppDeps) {
  const app = newRouter();
  const joinTokens = (cluster: ClusterRow) => currentJoinTokens(deps.keys, cluster);

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/swarm",
      tags: ["swarm"],
      summary: "Cluster info and settings",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      responses: { 200: jsonResponse(SwarmSchema, "The cluster"), ...errorResponses },
    }),
    (c) => c.json(toSwarm(c.get("cluster")), 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/swarm",
      tags: ["swarm"],
      summary: "Change cluster settings",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { query: VersionQuery, body: jsonBody(SwarmSpecUpdateSchema) },
      responses: { 200: jsonResponse(SwarmSchema, "The updated cluster"), ...errorResponses },
    }),
    async (c) => {
      const { version } = c.req.valid("query");
      const cluster = c.get("cluster");
      try {
        return c.json(toSwarm(await updateClusterSettings(deps.db, cluster.id, version, c.req.valid("json"), c.get("now"))), 200);
      } catch (err) {
        if (isCasFailure(err)) throw versionConflict("swarm", cluster.id, version);
        throw err;
      }
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/swarm/join-tokens",
      tags: ["swarm"],
      summary: "The current worker and manager join tokens",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      responses: { 200: jsonResponse(JoinTokensSchema, "Join tokens"), ...errorResponses },
    }),
    async (c) => c.json(await joinTokens(c.get("cluster")), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/swarm/join-tokens/{role}/rotate",
      tags: ["swarm"],
      summary: "Rotate a join token",
      description: "The old token is refused for new joins at once; nodes that already joined are not affected.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: RoleParam },
      responses: { 200: jsonResponse(JoinTokensSchema, "Join tokens after the rotation"), ...errorResponses },
    }),
    async (c) => {
      const { role } = c.req.valid("param");
      const cluster = await rotateJoinGeneration(deps.db, c.get("cluster").id, role, c.get("now"));
      return c.json(await joinTokens(cluster), 200);
    },
  );

  return app;
}
