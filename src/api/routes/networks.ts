import { createRoute, z } from "@hono/zod-openapi";
import { listNetworks, type NetworkRow } from "../../db/networks.js";
import { listServices } from "../../db/services.js";
import { networkDrivers } from "../../db/schema/index.js";
import { encryptedOption, mtuOption } from "../../domain/network.js";
import { Labels, strictObject } from "../../protocol/schema.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { filterNetworks } from "../network-filters.js";
import { createNetwork, pruneNetworks, removeNetwork, resolveNetwork, servicesOn } from "../network-writes.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { newRouter } from "../../http/router.js";
import { isoTime, repeated } from "../schemas.js";

/** Overlay networks (docker network, scope swarm). */

const nameText = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "a network name: letters, digits, '_', '.' and '-', starting with a letter or digit");

export const NetworkCreateSchema = strictObject({
  name: nameText.openapi({ example: "backend" }),
  driver: z
    .enum(networkDrivers, { error: "only the overlay driver: networks span the swarm's hosts" })
    .default("overlay"),
  subnet: z.string().max(64).optional().openapi({ description: "IPv4 CIDR; omitted: the next free /24 of 10.0.0.0/8", example: "10.0.9.0/24" }),
  gateway: z.string().max(64).optional().openapi({ description: "Reserved address of the subnet; omitted: its first address" }),
  options: z
    .record(z.string().min(1).max(255), z.string().max(1024))
    .default({})
    .openapi({ description: `Driver options: \`${encryptedOption}\` (WireGuard between hosts), \`${mtuOption}\``, example: { encrypted: "" } }),
  internal: z.boolean().default(false).openapi({ description: "No traffic to or from outside the network" }),
  attachable: z.boolean().default(false).openapi({ description: "Standalone containers may join it" }),
  labels: Labels.default({}),
}).openapi("NetworkCreate");

export const NetworkSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.number().int(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    driver: z.enum(networkDrivers),
    scope: z.literal("swarm"),
    subnet: z.string(),
    gateway: z.string(),
    vni: z.number().int().openapi({ description: "The VXLAN network identifier" }),
    mtu: z.number().int().optional().openapi({ description: "Set by the mtu option; otherwise each host derives it from its underlay" }),
    encrypted: z.boolean(),
    internal: z.boolean(),
    attachable: z.boolean(),
    ingress: z.boolean(),
    labels: z.record(z.string(), z.string()),
    options: z.record(z.string(), z.string()),
    services: z.array(z.string()).openapi({ description: "Names of the services attached to it" }),
  })
  .openapi("Network");

export function toNetwork(n: NetworkRow, services: string[]): z.infer<typeof NetworkSchema> {
  return {
    id: n.id,
    name: n.name,
    version: n.version,
    createdAt: isoTime(n.createdAt),
    updatedAt: isoTime(n.updatedAt),
    driver: n.driver,
    scope: "swarm",
    subnet: n.subnet,
    gateway: n.gateway,
    vni: n.vni,
    ...(n.mtu !== null ? { mtu: n.mtu } : {}),
    encrypted: n.encrypted,
    internal: n.internal,
    attachable: n.attachable,
    ingress: n.ingress,
    labels: n.labels,
    options: n.options,
    services,
  };
}

const NetworkRefParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._-]+$/, "a network id, id prefix or name")
    .openapi({ param: { name: "id", in: "path" }, description: "Network id, unique id prefix or name" }),
});

const NetworkListQuery = strictObject({
  id: repeated("Network id prefix"),
  name: repeated("Part of the network name"),
  label: repeated("Label `key` or `key=value`"),
  driver: repeated("overlay"),
  scope: repeated("swarm"),
  type: repeated("custom, or builtin (ingress)"),
});

const PruneQuery = strictObject({ label: repeated("Only networks with this label `key` or `key=value`") });

const PruneResultSchema = z.object({ deleted: z.array(z.string()).openapi({ description: "Names of the networks removed" }) }).openapi("NetworkPrune");

export function networkRoutes(deps: AppDeps) {
  const app = newRouter();
  const users = async () => {
    const services = await listServices(deps.db);
    return (n: NetworkRow) => servicesOn(services, n).map((s) => s.name);
  };

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/networks",
      tags: ["networks"],
      summary: "Create an overlay network (docker network create -d overlay)",
      description: "Without a subnet, the next free /24 of 10.0.0.0/8 that overlaps no network. The encrypted option is refused when no ready node can do WireGuard.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { body: jsonBody(NetworkCreateSchema) },
      responses: { 201: jsonResponse(NetworkSchema, "The network"), ...errorResponses },
    }),
    async (c) => {
      const row = await createNetwork(deps, c.req.valid("json"), c.get("now"));
      await c.var.afterWrite();
      return c.json(toNetwork(row, []), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/networks",
      tags: ["networks"],
      summary: "List networks (docker network ls)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: NetworkListQuery },
      responses: { 200: jsonResponse(z.array(NetworkSchema), "Networks, by name"), ...errorResponses },
    }),
    async (c) => {
      const [rows, usersOf] = await Promise.all([listNetworks(deps.db), users()]);
      return c.json(filterNetworks(rows, c.req.valid("query")).map((n) => toNetwork(n, usersOf(n))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/networks/{id}",
      tags: ["networks"],
      summary: "Inspect a network",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: NetworkRefParam },
      responses: { 200: jsonResponse(NetworkSchema, "The network"), ...errorResponses },
    }),
    async (c) => {
      const row = await resolveNetwork(deps.db, c.req.valid("param").id);
      return c.json(toNetwork(row, (await users())(row)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/networks/{id}",
      tags: ["networks"],
      summary: "Remove a network (refused while a service uses it)",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: NetworkRefParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      await removeNetwork(deps, await resolveNetwork(deps.db, c.req.valid("param").id), now);
      await c.var.afterWrite();
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/networks/prune",
      tags: ["networks"],
      summary: "Remove every network no service uses (docker network prune)",
      description: "The ingress network stays.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { query: PruneQuery },
      responses: { 200: jsonResponse(PruneResultSchema, "What was removed"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const deleted = await pruneNetworks(deps, c.req.valid("query").label, now);
      if (deleted.length) await c.var.afterWrite();
      return c.json({ deleted }, 200);
    },
  );

  return app;
}
