import { createRoute, z } from "@hono/zod-openapi";
import { listFileObjects, type FileObjectRow } from "../../db/file-objects.js";
import type { FileObjectKind } from "../../db/schema/index.js";
import { listServices } from "../../db/services.js";
import { fileObjectName, maxFileObjectBytes } from "../../domain/file-object.js";
import { Labels, strictObject } from "../../protocol/schema.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { createFileObject, maxFileObjectBase64, removeFileObject, resolveFileObject, servicesUsing } from "../file-object-writes.js";
import { filterFileObjects } from "../file-object-filters.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { newRouter } from "../../http/router.js";
import { isoTime, repeated } from "../schemas.js";

/**
 * Secrets and configs (docker secret / docker config): the same routes for
 * both, except that a secret's data is never in an answer.
 */

const title = { secret: "Secret", config: "Config" } as const;

export function fileObjectSchemas(kind: FileObjectKind) {
  const Create = strictObject({
    name: z.string().regex(fileObjectName, `a ${kind} name: up to 64 letters, digits, '_', '.' and '-', starting and ending with a letter or digit`).openapi({ example: kind === "secret" ? "db_password" : "nginx_conf" }),
    data: z
      .string()
      .max(maxFileObjectBase64, `at most ${maxFileObjectBytes} bytes (500 KiB), base64`)
      .openapi({ description: `The file's bytes in base64, 1 byte to ${maxFileObjectBytes} bytes`, example: "c2VjcmV0Cg==" }),
    labels: Labels.default({}),
  }).openapi(`${title[kind]}Create`);
  const View = z
    .object({
      id: z.string(),
      name: z.string(),
      version: z.number().int(),
      createdAt: z.iso.datetime(),
      updatedAt: z.iso.datetime(),
      labels: z.record(z.string(), z.string()),
      size: z.number().int().openapi({ description: "Bytes" }),
      services: z.array(z.string()).openapi({ description: `Names of the services that use the ${kind}` }),
      ...(kind === "config" ? { data: z.string().openapi({ description: "The config's bytes in base64" }) } : {}),
    })
    .openapi(title[kind]);
  return { Create, View };
}

function toView(row: FileObjectRow, services: string[]) {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    createdAt: isoTime(row.createdAt),
    updatedAt: isoTime(row.updatedAt),
    labels: row.labels,
    size: row.size,
    services,
    // A secret's sealed data stays out of every answer.
    ...(row.kind === "config" ? { data: row.data } : {}),
  };
}

export function fileObjectRoutes(deps: AppDeps, kind: FileObjectKind) {
  const app = newRouter();
  const { Create, View } = fileObjectSchemas(kind);
  const base = `/v1/${kind}s`;
  const tags = [`${kind}s`];
  const RefParam = z.object({
    id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._-]+$/, `a ${kind} id, id prefix or name`)
      .openapi({ param: { name: "id", in: "path" }, description: `${title[kind]} id, unique id prefix or name` }),
  });
  const ListQuery = strictObject({
    id: repeated(`${title[kind]} id prefix`),
    name: repeated(`Start of the ${kind} name`),
    names: repeated(`The whole ${kind} name`),
    label: repeated("Label `key` or `key=value`"),
  });
  const users = async () => {
    const services = await listServices(deps.db);
    return (o: FileObjectRow) => servicesUsing(services, o).map((s) => s.name);
  };

  app.openapi(
    createRoute({
      method: "post",
      path: base,
      tags,
      summary: `Create a ${kind} (docker ${kind} create)`,
      description: `${title[kind]}s are immutable: to change one, create another under a new name and point the service at it. A name in use is a 409.${kind === "secret" ? " The data is stored encrypted and never answered." : ""}`,
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { body: jsonBody(Create) },
      responses: { 201: jsonResponse(View, `The ${kind}`), ...errorResponses },
    }),
    async (c) => {
      const row = await createFileObject(deps, kind, c.req.valid("json"), c.get("now"));
      return c.json(toView(row, []), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: base,
      tags,
      summary: `List ${kind}s (docker ${kind} ls)`,
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: ListQuery },
      responses: { 200: jsonResponse(z.array(View), `${title[kind]}s, by name`), ...errorResponses },
    }),
    async (c) => {
      const [rows, usersOf] = await Promise.all([listFileObjects(deps.db, kind), users()]);
      return c.json(filterFileObjects(rows, c.req.valid("query")).map((o) => toView(o, usersOf(o))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${base}/{id}`,
      tags,
      summary: `Inspect a ${kind}${kind === "secret" ? " (never its value)" : ""}`,
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: RefParam },
      responses: { 200: jsonResponse(View, `The ${kind}`), ...errorResponses },
    }),
    async (c) => {
      const row = await resolveFileObject(deps.db, kind, c.req.valid("param").id);
      return c.json(toView(row, (await users())(row)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: `${base}/{id}`,
      tags,
      summary: `Remove a ${kind} (refused while a service uses it)`,
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: RefParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      await removeFileObject(deps, await resolveFileObject(deps.db, kind, c.req.valid("param").id), c.get("now"));
      return c.body(null, 204);
    },
  );

  return app;
}
