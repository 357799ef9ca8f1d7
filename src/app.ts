import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import { shoalVersion, type AppDeps, type AppEnv } from "./http/context.js";
import { dockerApi, dockerErrorResponse, isDockerApiPath } from "./api/docker/routes.js";
import { ApiError, toApiError } from "./http/errors.js";
import { jsonResponse } from "./http/openapi.js";
import { renderReferencePage } from "./api/reference-page.js";
import { newRouter } from "./http/router.js";
import { eventRoutes } from "./api/routes/events.js";
import { hookRoutes } from "./api/routes/hooks.js";
import { installRoutes } from "./api/routes/install.js";
import { fileObjectRoutes } from "./api/routes/file-objects.js";
import { networkRoutes } from "./api/routes/networks.js";
import { nodeRoutes } from "./api/routes/nodes.js";
import { swarmRoutes } from "./api/routes/swarm.js";
import { serviceRoutes } from "./api/routes/services.js";
import { stackRoutes } from "./api/routes/stacks.js";
import { taskRoutes } from "./api/routes/tasks.js";
import { tokenRoutes } from "./api/routes/tokens.js";
import { uiRoutes } from "./api/routes/ui.js";
import { webhookRoutes } from "./api/routes/webhooks.js";
import { dispatcherRoutes } from "./dispatcher/routes.js";
import { logRelayRoutes } from "./dispatcher/log-routes.js";
import { logRoutes } from "./api/routes/logs.js";
import { execRoutes } from "./api/routes/exec.js";
import { defaultRequestTimeoutMs, maxBodyBytes } from "./domain/limits.js";
import { sizeLimits, timeLimit } from "./api/request-limits.js";

export type { AppDeps } from "./http/context.js";


const openApiConfig = {
  openapi: "3.1.0",
  info: {
    title: "shoal",
    version: shoalVersion,
    description: "A container orchestrator in the spirit of Docker Swarm mode, with a serverless control plane.",
  },
};

/** The shoal HTTP API. Both runtime entries build `deps` and serve what this returns. */
export function createApp(deps: AppDeps) {
  const app = newRouter();

  const errorResponse = (err: unknown, c: Context<AppEnv>): Response => {
    if (isDockerApiPath(c.req.path)) return dockerErrorResponse(deps, err, c);
    const apiError = toApiError(err);
    if (apiError.code === "internal")
      deps.logger.error("request failed", { method: c.req.method, path: c.req.path, error: err instanceof Error ? err.stack : String(err) });
    return c.body(JSON.stringify(apiError.toProblem()), apiError.status, {
      "content-type": "application/problem+json",
      // The rest of an oversized body is not read by the app; on Node the server drains it before closing (node-http.ts).
      ...(apiError.code === "payload_too_large" ? { connection: "close" } : {}),
    });
  };

  app.use("*", timeLimit(deps.requestTimeoutMs ?? defaultRequestTimeoutMs, errorResponse));
  app.use("*", sizeLimits);
  app.use("*", bodyLimit({ maxSize: maxBodyBytes, onError: () => { throw new HTTPException(413); } }));

  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      tags: ["meta"],
      summary: "Liveness of the control plane",
      responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }), "Serving") },
    }),
    (c) => c.json({ status: "ok" as const }, 200),
  );

  app.route("/", swarmRoutes(deps));
  app.route("/", nodeRoutes(deps));
  app.route("/", serviceRoutes(deps));
  app.route("/", taskRoutes(deps));
  app.route("/", networkRoutes(deps));
  app.route("/", fileObjectRoutes(deps, "secret"));
  app.route("/", fileObjectRoutes(deps, "config"));
  app.route("/", stackRoutes(deps));
  app.route("/", tokenRoutes(deps));
  app.route("/", eventRoutes(deps));
  app.route("/", webhookRoutes(deps));
  app.route("/", hookRoutes(deps));
  app.route("/", installRoutes(deps));
  app.route("/", dispatcherRoutes(deps));
  app.route("/", logRelayRoutes(deps));
  app.route("/", logRoutes(deps));
  app.route("/", execRoutes(deps));
  app.route("/", dockerApi(deps));
  app.route("/", uiRoutes(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An API token (admin or read-only), a node credential or a join token, as each route says",
  });

  const document = () => app.getOpenAPI31Document(openApiConfig);

  app.openapi(
    createRoute({
      method: "get",
      path: "/openapi.json",
      tags: ["meta"],
      summary: "This OpenAPI 3.1 document",
      responses: { 200: jsonResponse(z.looseObject({ openapi: z.string() }), "The document") },
    }),
    (c) => c.json(document(), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/docs",
      tags: ["meta"],
      summary: "Human-readable API reference",
      responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
    }),
    (c) => c.html(renderReferencePage(document())),
  );

  const routePatterns = app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => ({ method: r.method, pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+")}$`) }));

  app.notFound((c) => {
    const allowed = routePatterns.filter((r) => r.pattern.test(c.req.path)).map((r) => r.method);
    if (allowed.length)
      throw new ApiError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; allowed: ${[...new Set(allowed)].join(", ")}`);
    throw new ApiError("not_found", `no route ${c.req.method} ${c.req.path}; see /docs`);
  });

  app.onError(errorResponse);

  return app;
}
