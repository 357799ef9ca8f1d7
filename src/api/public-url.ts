import type { Context } from "hono";
import type { AppDeps } from "../http/context.js";

/** Where users and agents reach this control plane: the configured public URL, else the request's origin. */
export const publicOrigin = (c: Context, deps: Pick<AppDeps, "publicUrl">) => (deps.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, "");
