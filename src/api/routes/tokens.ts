import { createRoute, z } from "@hono/zod-openapi";
import { signApiToken } from "../../auth/credentials.js";
import { apiTokenScopes } from "../../db/schema/index.js";
import { deleteApiToken, getApiToken, insertApiToken, listApiTokens, type ApiTokenRow } from "../../db/tokens.js";
import { newId } from "../../ids.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError, notFound } from "../../http/errors.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { isoTime } from "../schemas.js";

const TokenSchema = z
  .object({ id: z.string(), name: z.string(), scope: z.enum(apiTokenScopes), createdAt: z.iso.datetime() })
  .openapi("ApiToken");

const CreatedTokenSchema = TokenSchema.extend({
  token: z.string().openapi({ description: "The bearer token; shown only in this answer" }),
}).openapi("CreatedApiToken");

const TokenCreateSchema = strictObject({
  name: z.string().min(1).max(100),
  scope: z.enum(apiTokenScopes).openapi({ description: "admin: every route; read: only reads" }),
}).openapi("ApiTokenCreate");

const TokenIdParam = z.object({
  id: z
    .string()
    .regex(/^tok_[a-z0-9]{1,40}$/, "a token id such as tok_0123…")
    .openapi({ param: { name: "id", in: "path" } }),
});

const toToken = (t: ApiTokenRow) => ({ id: t.id, name: t.name, scope: t.scope, createdAt: isoTime(t.createdAt) });

export function tokenRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/tokens",
      tags: ["tokens"],
      summary: "List API tokens (never the tokens themselves)",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      responses: { 200: jsonResponse(z.array(TokenSchema), "API tokens"), ...errorResponses },
    }),
    async (c) => c.json((await listApiTokens(deps.db)).map(toToken), 200),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/tokens",
      tags: ["tokens"],
      summary: "Create an API token",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { body: jsonBody(TokenCreateSchema) },
      responses: { 201: jsonResponse(CreatedTokenSchema, "The new token"), ...errorResponses },
    }),
    async (c) => {
      const { name, scope } = c.req.valid("json");
      const row: ApiTokenRow = { id: newId("tok"), name, scope, createdAt: c.get("now") };
      await insertApiToken(deps.db, row);
      return c.json({ ...toToken(row), token: await signApiToken(deps.keys, row.id, scope) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/tokens/{id}",
      tags: ["tokens"],
      summary: "Revoke an API token",
      description: "Takes effect at once. The last admin token cannot be revoked.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: TokenIdParam },
      responses: { 204: { description: "Revoked" }, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (await deleteApiToken(deps.db, id)) return c.body(null, 204);
      if (await getApiToken(deps.db, id))
        throw new ApiError("conflict", `token ${id} is the last admin token; create another admin token first`);
      throw notFound("token", id);
    },
  );

  return app;
}
