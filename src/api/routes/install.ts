import { createRoute, z } from "@hono/zod-openapi";
import { renderInstallScript } from "../../install/install-script.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError } from "../../http/errors.js";
import { errorResponses } from "../../http/openapi.js";
import { publicOrigin } from "../public-url.js";
import { newRouter } from "../../http/router.js";

/** The agent install one-liner's script and the bundle it installs; public, like the agent's source. */
export function installRoutes(deps: AppDeps) {
  const app = newRouter();

  const requireBundle = async () => {
    const bundle = await deps.agentBundle?.();
    if (!bundle) throw new ApiError("not_found", "this control plane serves no agent bundle; see the README (Installing agents)");
    return bundle;
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/install.sh",
      tags: ["install"],
      summary: "The agent installer (POSIX sh)",
      description:
        "`curl -fsSL https://HOST/install.sh | sudo sh -s -- --token JOIN_TOKEN` installs the agent from `/v1/agent/bundle` (its SHA-256 is in the script), as a systemd unit or under a small supervisor, on the host's Node.js ≥ 20 or in a Node container. Run again to upgrade; `--uninstall` removes it; `--help` lists the options.",
      responses: {
        200: { description: "The script", content: { "text/plain": { schema: z.string() } } },
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const bundle = await requireBundle();
      const script = renderInstallScript({ url: publicOrigin(c, deps), bundleSha256: bundle.sha256 });
      return c.text(script, 200, { "cache-control": "no-cache" });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/agent/bundle",
      tags: ["install"],
      summary: "The agent as one ES module for Node.js ≥ 20 (what install.sh installs)",
      responses: {
        200: { description: "agent/dist/shoal-agent.mjs; its SHA-256 is the ETag", content: { "text/javascript": { schema: z.string() } } },
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const bundle = await requireBundle();
      return c.text(bundle.text, 200, { "content-type": "text/javascript; charset=utf-8", etag: `"${bundle.sha256}"`, "cache-control": "no-cache" });
    },
  );

  return app;
}
