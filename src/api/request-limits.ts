import type { Context, MiddlewareHandler } from "hono";
import { maxHeaderBytes, maxUrlLength } from "../domain/limits.js";
import type { AppEnv } from "../http/context.js";
import { ApiError } from "../http/errors.js";

/** The header fields' size as sent: each name, ": ", value and CRLF. */
function headerBytes(headers: Headers): number {
  let bytes = 0;
  headers.forEach((value, name) => (bytes += name.length + value.length + 4));
  return bytes;
}

/**
 * Refuses a URL (path and query) or header fields past their limits, on both runtimes. On Node
 * the HTTP parser's own limit sits above these (src/runtime/node-http.ts), so what it lets
 * through is refused here in the same shape.
 */
export const sizeLimits: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = c.req.url;
  const target = url.length - url.indexOf("/", url.indexOf("//") + 2);
  if (target > maxUrlLength)
    throw new ApiError("uri_too_long", `the URL's path and query are ${target} characters; the limit is ${maxUrlLength}`);
  const headers = headerBytes(c.req.raw.headers);
  if (headers > maxHeaderBytes)
    throw new ApiError("headers_too_large", `the request's header fields are ${headers} bytes; the limit is ${maxHeaderBytes}`);
  await next();
};

/**
 * Answers 503 when the handler has not answered within `limitMs`, so no client waits on a
 * slow or stuck request (a store that stays locked, a runaway walk). JavaScript cannot stop
 * the handler: it runs on and its answer is dropped, and a write it was making may still
 * land, which the message says. A long-poll extends its own allowance by the time it means
 * to wait (`extendTimeLimit`); event streams answer at once and end after their own bound.
 * `respond` is the app's error answer, so Docker paths get Docker's shape.
 */
export function timeLimit(limitMs: number, respond: (err: ApiError, c: Context<AppEnv>) => Response): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expire = () => {};
    const expired = new Promise<"expired">((resolve) => (expire = () => resolve("expired")));
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(expire, ms);
    };
    arm(limitMs);
    // From now: the wait, then the usual allowance for the work after it.
    c.set("extendTimeLimit", (waitMs: number) => arm(waitMs + limitMs));
    // Promise.race subscribes to `handled`, so a rejection after the 503 is no unhandled rejection;
    // the app's onError has already logged it.
    const handled = next().then(() => "handled" as const);
    try {
      if ((await Promise.race([handled, expired])) === "handled") return;
    } finally {
      clearTimeout(timer);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return respond(
      new ApiError(
        "unavailable",
        `the request was not answered within ${seconds} s and was given up; a change it was making may still be written: read the state before retrying`,
      ),
      c,
    );
  };
}
