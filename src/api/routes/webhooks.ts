import { createRoute, z } from "@hono/zod-openapi";
import { isCasFailure } from "../../db/cas.js";
import { deliveryStates, webhookStates } from "../../db/schema/index.js";
import {
  deleteWebhook,
  getWebhook,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  updateWebhook,
  type DeliveryRow,
  type WebhookChange,
  type WebhookRow,
} from "../../db/webhooks.js";
import { newId } from "../../ids.js";
import { checkWebhookUrl } from "../../webhooks/address-guard.js";
import { sealSecret } from "../../auth/secret-box.js";
import { decodeWebhookSecret, generateWebhookSecret, webhookSecretRule } from "../../webhooks/signature.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError, notFound, versionConflict } from "../../http/errors.js";
import { VersionQuery, bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { isoTime, queryInt, repeatedOf } from "../schemas.js";
import { EventPattern } from "./events.js";

const WebhookSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    name: z.string(),
    url: z.string(),
    events: z.array(z.string()).openapi({ description: "Event name patterns it receives; empty: every event" }),
    allowPrivate: z.boolean(),
    state: z.enum(webhookStates),
    disabledReason: z.string().openapi({ description: "Why it is disabled (e.g. the endpoint answered 410 Gone)" }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Webhook");

const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().openapi({ description: "The signing secret (whsec_…); shown only in this answer" }),
}).openapi("CreatedWebhook");

const fields = {
  name: z.string().min(1).max(100),
  url: z.string().max(2048).openapi({ example: "https://hooks.example.com/shoal" }),
  events: z
    .array(EventPattern)
    .max(50)
    .openapi({ description: "Event names or patterns (`task.failed`, `node.*`, `service.update.*`, or an action such as `failed`); empty or absent: every event" }),
  allowPrivate: z.boolean().openapi({ description: "Allow loopback, private, link-local and other non-public targets (refused by default: SSRF guard)" }),
  secret: z
    .string()
    .max(200)
    .refine((s) => decodeWebhookSecret(s) !== undefined, { error: `a Standard Webhooks secret: ${webhookSecretRule}` })
    .openapi({ description: "The signing secret; generated when absent" }),
};

const WebhookCreateSchema = strictObject({
  name: fields.name.optional(),
  url: fields.url,
  events: fields.events.optional(),
  allowPrivate: fields.allowPrivate.optional(),
  secret: fields.secret.optional(),
}).openapi("WebhookCreate");

const WebhookUpdateSchema = strictObject({
  name: fields.name.optional(),
  url: fields.url.optional(),
  events: fields.events.optional(),
  allowPrivate: fields.allowPrivate.optional(),
  secret: fields.secret.optional(),
  enabled: z.boolean().optional().openapi({ description: "false disables it; true enables it again (e.g. after a 410), with its pending deliveries" }),
}).openapi("WebhookUpdate");

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: "The webhook-id header: the same on every attempt" }),
    eventId: z.number().int(),
    event: z.string().openapi({ example: "task.failed" }),
    state: z.enum(deliveryStates),
    attempts: z.number().int(),
    nextAttemptAt: z.iso.datetime().nullable().openapi({ description: "When it is tried next; null once it succeeded or failed" }),
    lastAttemptAt: z.iso.datetime().nullable(),
    lastStatus: z.number().int().nullable().openapi({ description: "HTTP status of the last attempt; null when it got no answer" }),
    lastError: z.string(),
    createdAt: z.iso.datetime(),
  })
  .openapi("WebhookDelivery");

const WebhookIdParam = z.object({
  id: z
    .string()
    .regex(/^whk_[a-v0-9]{1,40}$/, "a webhook id such as whk_0123…")
    .openapi({ param: { name: "id", in: "path" } }),
});

const DeliveryQuery = strictObject({
  state: repeatedOf(z.enum(deliveryStates), `Delivery state: ${deliveryStates.join(", ")}`),
  limit: queryInt(1, 1000).default(100),
});

const toWebhook = (w: WebhookRow): z.infer<typeof WebhookSchema> => ({
  id: w.id,
  version: w.version,
  name: w.name,
  url: w.url,
  events: w.events,
  allowPrivate: w.allowPrivate,
  state: w.state,
  disabledReason: w.disabledReason,
  createdAt: isoTime(w.createdAt),
  updatedAt: isoTime(w.updatedAt),
});

const toDelivery = (d: DeliveryRow): z.infer<typeof DeliverySchema> => ({
  id: d.id,
  eventId: d.eventId,
  event: d.eventName,
  state: d.state,
  attempts: d.attempts,
  nextAttemptAt: d.state === "pending" ? isoTime(d.nextAttemptAt) : null,
  lastAttemptAt: d.lastAttemptAt === null ? null : isoTime(d.lastAttemptAt),
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  createdAt: isoTime(d.createdAt),
});

/** The URL check needs allowPrivate too, so it runs here rather than in the schema; it names the field all the same. */
function requireAllowedUrl(url: string, allowPrivate: boolean): void {
  const problem = checkWebhookUrl(url, allowPrivate);
  if (problem) throw new ApiError("validation_failed", `invalid request: body.url: ${problem}`, [{ path: "body.url", message: problem }]);
}

/** Outbound webhook subscriptions (admin only: URLs and secrets are sensitive) and their delivery logs. */
export function webhookRoutes(deps: AppDeps) {
  const app = newRouter();

  const requireWebhook = async (id: string) => {
    const hook = await getWebhook(deps.db, id);
    if (!hook) throw notFound("webhook", id);
    return hook;
  };

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/webhooks",
      tags: ["webhooks"],
      summary: "Subscribe a URL to events",
      description:
        "Deliveries are signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) with the secret, " +
        "retried with exponential backoff, and the subscription is disabled when the endpoint answers 410. " +
        "It receives events from now on.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { body: jsonBody(WebhookCreateSchema) },
      responses: { 201: jsonResponse(CreatedWebhookSchema, "The subscription and its secret"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const allowPrivate = body.allowPrivate ?? false;
      requireAllowedUrl(body.url, allowPrivate);
      const now = c.get("now");
      const id = newId("whk");
      const secret = body.secret ?? generateWebhookSecret();
      const row = await insertWebhook(deps.db, {
        id,
        version: 1,
        createdAt: now,
        updatedAt: now,
        name: body.name ?? new URL(body.url).host,
        url: body.url,
        events: body.events ?? [],
        allowPrivate,
        secretSealed: await sealSecret(deps.keys, id, secret),
        state: "active",
        disabledReason: "",
      });
      return c.json({ ...toWebhook(row), secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/webhooks",
      tags: ["webhooks"],
      summary: "List webhook subscriptions",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      responses: { 200: jsonResponse(z.array(WebhookSchema), "Subscriptions"), ...errorResponses },
    }),
    async (c) => c.json((await listWebhooks(deps.db)).map(toWebhook), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Inspect a webhook subscription",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: WebhookIdParam },
      responses: { 200: jsonResponse(WebhookSchema, "The subscription"), ...errorResponses },
    }),
    async (c) => c.json(toWebhook(await requireWebhook(c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Change a webhook subscription, disable it or enable it again",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: WebhookIdParam, query: VersionQuery, body: jsonBody(WebhookUpdateSchema) },
      responses: { 200: jsonResponse(WebhookSchema, "The changed subscription"), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { version } = c.req.valid("query");
      const body = c.req.valid("json");
      const current = await requireWebhook(id);
      requireAllowedUrl(body.url ?? current.url, body.allowPrivate ?? current.allowPrivate);
      const change: WebhookChange = {
        name: body.name,
        url: body.url,
        events: body.events,
        allowPrivate: body.allowPrivate,
        ...(body.secret !== undefined ? { secretSealed: await sealSecret(deps.keys, id, body.secret) } : {}),
        ...(body.enabled === true ? { state: "active", disabledReason: "" } : {}),
        ...(body.enabled === false ? { state: "disabled", disabledReason: "disabled by an admin" } : {}),
      };
      try {
        return c.json(toWebhook(await updateWebhook(deps.db, id, version, change, c.get("now"))), 200);
      } catch (err) {
        if (isCasFailure(err)) throw versionConflict("webhook", id, version);
        throw err;
      }
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/webhooks/{id}",
      tags: ["webhooks"],
      summary: "Remove a webhook subscription and its delivery log",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: WebhookIdParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await deleteWebhook(deps.db, id))) throw notFound("webhook", id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/webhooks/{id}/deliveries",
      tags: ["webhooks"],
      summary: "A subscription's delivery log, newest event first",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: WebhookIdParam, query: DeliveryQuery },
      responses: { 200: jsonResponse(z.array(DeliverySchema), "Deliveries"), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { state, limit } = c.req.valid("query");
      await requireWebhook(id);
      return c.json((await listDeliveries(deps.db, id, state ?? [], limit)).map(toDelivery), 200);
    },
  );

  return app;
}
