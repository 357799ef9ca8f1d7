import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../../http/context.js";
import { ApiError } from "../../http/errors.js";
import { errorResponses } from "../../http/openapi.js";
import { newRouter } from "../../http/router.js";

/** The page loads only its own script and talks only to this origin; the token never leaves it. */
const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shoal</title>
<link rel="icon" href="data:,">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<div id="app"><noscript>The shoal web view needs JavaScript; the API reference is at <a href="/docs">/docs</a>.</noscript></div>
</body>
</html>
`;

/** The web view (src/ui/): a page and its one script; public, as the data comes only with a token. */
export function uiRoutes(deps: AppDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["meta"],
      summary: "The web view: nodes, services and tasks, live (sign in with an API token)",
      responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
    }),
    (c) => c.html(page, 200, { "content-security-policy": contentSecurityPolicy, "cache-control": "no-cache" }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/ui/app.js",
      tags: ["meta"],
      summary: "The web view's script (preact, bundled)",
      responses: {
        200: { description: "One ES module; its SHA-256 is the ETag", content: { "text/javascript": { schema: z.string() } } },
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const bundle = await deps.uiBundle?.();
      if (!bundle) throw new ApiError("not_found", "this control plane serves no web view bundle; see the README (Web view)");
      const etag = `"${bundle.sha256}"`;
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
      return c.text(bundle.text, 200, { "content-type": "text/javascript; charset=utf-8", etag, "cache-control": "no-cache" });
    },
  );

  return app;
}
