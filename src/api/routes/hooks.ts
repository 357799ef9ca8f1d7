import { createRoute, z } from "@hono/zod-openapi";
import { hashHookToken, newHookToken } from "../../auth/hook-tokens.js";
import { retryOnConflict } from "../../db/cas.js";
import { insertEvent } from "../../db/events.js";
import { countHookCall, deleteServiceHook, getServiceHookByTokenHash, insertServiceHook, listServiceHooks, markHookTriggered, type ServiceHookRow } from "../../db/hooks.js";
import { hookActions } from "../../db/schema/index.js";
import { getService } from "../../db/services.js";
import { hookSources, parseHookTrigger, planRedeploy } from "../../hooks/trigger.js";
import { newId } from "../../ids.js";
import { access } from "../../http/access.js";
import { afterWrites, reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError, notFound } from "../../http/errors.js";
import { bearer, errorResponses, jsonBody, jsonResponse, tooManyRequestsResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { publicOrigin } from "../public-url.js";
import { jsonTooDeep, jsonTooDeepMessage } from "../json-depth.js";
import { newRouter } from "../../http/router.js";
import { isoTime } from "../schemas.js";
import { resolveService, writeServiceSpec } from "../service-writes.js";
import { ServiceRefParam } from "./services.js";

/** Calls per hook token and window: enough for a burst of registry pushes, not for a flood of redeploys. */
export const hookCallsPerWindow = 20;
export const hookWindowMs = 60_000;

const HookSchema = z
  .object({
    id: z.string(),
    serviceId: z.string(),
    name: z.string(),
    action: z.enum(hookActions),
    createdAt: z.iso.datetime(),
    lastTriggeredAt: z.iso.datetime().optional(),
  })
  .openapi("ServiceHook");

const CreatedHookSchema = HookSchema.extend({
  token: z.string().openapi({ description: "The trigger token; shown only in this answer (only its hash is stored)" }),
  url: z.string().openapi({ description: "POST here to trigger: the control plane's URL + /v1/hooks/<token>" }),
}).openapi("CreatedServiceHook");

const HookCreateSchema = strictObject({
  name: z.string().min(1).max(100).default("webhook").openapi({ description: "What it is for (e.g. the registry that calls it)" }),
  action: z.enum(hookActions).default("redeploy").openapi({ description: "redeploy: replace every task (optionally at another image tag)" }),
}).openapi("ServiceHookCreate");

const HookIdParam = ServiceRefParam.extend({
  hookId: z
    .string()
    .regex(/^hook_[a-z0-9]{1,40}$/, "a webhook id such as hook_0123…")
    .openapi({ param: { name: "hookId", in: "path" } }),
});

const TokenParam = z.object({
  token: z.string().max(256).openapi({ param: { name: "token", in: "path" }, description: "The trigger token (the credential)" }),
});

const TriggerQuery = strictObject({
  tag: z.string().optional().openapi({ description: "Redeploy at this image tag (replaces the tag of the service's image)" }),
});

const TriggeredSchema = z
  .object({
    hookId: z.string(),
    serviceId: z.string(),
    source: z.enum(hookSources).openapi({ description: "Which payload was recognised: plain, dockerhub or github" }),
    tag: z.string().optional(),
    image: z.string().openapi({ description: "The image the service now runs" }),
    version: z.number().int().openapi({ description: "The service's new version" }),
  })
  .openapi("HookTriggered");

const IgnoredSchema = z
  .object({ hookId: z.string(), source: z.enum(hookSources), ignored: z.string().openapi({ description: "Why nothing was redeployed" }) })
  .openapi("HookIgnored");

const toHook = (h: ServiceHookRow) => ({
  id: h.id,
  serviceId: h.serviceId,
  name: h.name,
  action: h.action,
  createdAt: isoTime(h.createdAt),
  ...(h.lastTriggeredAt !== null ? { lastTriggeredAt: isoTime(h.lastTriggeredAt) } : {}),
});

/** A webhook's body: none, or JSON. An empty body sent as JSON is malformed JSON, as on every other route. */
async function readHookBody(req: Request): Promise<unknown> {
  const text = await req.text();
  const contentType = req.headers.get("content-type") ?? "";
  const json = /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType);
  if (text === "" && !json) return undefined;
  if (!json) throw new ApiError("unsupported_media_type", "a webhook body must be JSON, sent with Content-Type: application/json (or send no body)");
  if (jsonTooDeep(text)) throw new ApiError("validation_failed", jsonTooDeepMessage, [{ path: "body", message: jsonTooDeepMessage }]);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError("malformed_json", `the body is not valid JSON (${(err as Error).message})`);
  }
}

export function hookRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/services/{id}/hooks",
      tags: ["webhooks"],
      summary: "Create a webhook trigger for a service",
      description: "Answers the token once; only its hash is kept. POST to the answered `url` to trigger the action.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: ServiceRefParam, body: jsonBody(HookCreateSchema) },
      responses: { 201: jsonResponse(CreatedHookSchema, "The webhook, with its token"), ...errorResponses },
    }),
    async (c) => {
      const service = await resolveService(deps.db, c.req.valid("param").id);
      const { name, action } = c.req.valid("json");
      const token = newHookToken();
      const row: ServiceHookRow = {
        id: newId("hook"),
        serviceId: service.id,
        name,
        action,
        tokenHash: await hashHookToken(token),
        createdAt: c.get("now"),
        lastTriggeredAt: null,
        windowStart: 0,
        windowCount: 0,
      };
      await insertServiceHook(deps.db, row);
      return c.json({ ...toHook(row), token, url: `${publicOrigin(c, deps)}/v1/hooks/${token}` }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/services/{id}/hooks",
      tags: ["webhooks"],
      summary: "List a service's webhook triggers (never their tokens)",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: ServiceRefParam },
      responses: { 200: jsonResponse(z.array(HookSchema), "The service's webhooks"), ...errorResponses },
    }),
    async (c) => {
      const service = await resolveService(deps.db, c.req.valid("param").id);
      return c.json((await listServiceHooks(deps.db, service.id)).map(toHook), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/services/{id}/hooks/{hookId}",
      tags: ["webhooks"],
      summary: "Delete a webhook trigger",
      description: "Its token stops working at once.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: HookIdParam },
      responses: { 204: { description: "Deleted" }, ...errorResponses },
    }),
    async (c) => {
      const { id, hookId } = c.req.valid("param");
      const service = await resolveService(deps.db, id);
      if (!(await deleteServiceHook(deps.db, service.id, hookId))) throw notFound("webhook", hookId);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/hooks/{token}",
      tags: ["webhooks"],
      summary: "Trigger a webhook: redeploy its service",
      description: [
        "The token in the path is the credential (no bearer). Replaces every task of the service, as `docker service update --force`;",
        "with a tag, the service's image is first set to that tag (as Portainer's service webhooks do).",
        "The body may be absent, `{}` or `{\"tag\": \"v2\"}`, Docker Hub's push payload (`push_data.tag`) or a GitHub `package` / `registry_package` event",
        "(`package_version.container_metadata.tag.name`); `?tag=` works too. A registry payload for another repository than the service's image is refused.",
        `GitHub pings and untagged versions answer 200 and change nothing. At most ${hookCallsPerWindow} calls per token per ${hookWindowMs / 1000} s.`,
      ].join(" "),
      middleware: [afterWrites(deps)],
      request: { params: TokenParam, query: TriggerQuery },
      responses: {
        200: jsonResponse(IgnoredSchema, "Understood, nothing to do"),
        202: jsonResponse(TriggeredSchema, "The redeploy is under way"),
        400: errorResponses[400],
        404: errorResponses[404],
        413: errorResponses[413],
        415: errorResponses[415],
        ...tooManyRequestsResponse,
      },
    }),
    async (c) => {
      const now = deps.clock.now();
      const hook = await getServiceHookByTokenHash(deps.db, await hashHookToken(c.req.valid("param").token));
      if (!hook) throw new ApiError("not_found", "no webhook has this token (deleted, or never created)");
      const trigger = parseHookTrigger({
        body: await readHookBody(c.req.raw),
        queryTag: c.req.valid("query").tag,
        githubEvent: c.req.header("x-github-event"),
      });
      // Counted once understood: a malformed call changes nothing, not even the count.
      if (!(await countHookCall(deps.db, hook.id, now, hookWindowMs, hookCallsPerWindow)))
        throw new ApiError("too_many_requests", `webhook ${hook.id} was called more than ${hookCallsPerWindow} times in ${hookWindowMs / 1000} s; retry later`);
      if (trigger.kind === "ignore") return c.json({ hookId: hook.id, source: trigger.source, ignored: trigger.reason }, 200);
      const updated = await retryOnConflict(async () => {
        const current = await getService(deps.db, hook.serviceId);
        if (!current) throw notFound("service", hook.serviceId);
        const spec = planRedeploy(current.spec, trigger);
        const attributes = {
          name: current.name,
          hook: hook.id,
          source: trigger.source,
          image: spec.task.container.image,
          ...(trigger.tag !== undefined ? { tag: trigger.tag } : {}),
        };
        return writeServiceSpec(deps, current, spec, now, [
          insertEvent(deps.db, now, "service", "webhook.triggered", current.id, attributes),
          markHookTriggered(deps.db, hook.id, now),
        ]);
      });
      await c.var.afterWrite();
      return c.json(
        {
          hookId: hook.id,
          serviceId: updated.id,
          source: trigger.source,
          ...(trigger.tag !== undefined ? { tag: trigger.tag } : {}),
          image: updated.spec.task.container.image,
          version: updated.version,
        },
        202,
      );
    },
  );

  return app;
}
