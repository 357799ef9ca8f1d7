import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Target } from "./config.js";

/** The API answered with an error: its problem document's detail is the message. */
export class ApiCallError extends Error {
  override name = "ApiCallError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | string[] | undefined>;

/**
 * The CLI's one way to call the API: bearer token, JSON, problem+json errors,
 * HTTPS with an optional CA file (node:https, as fetch takes no CA).
 */
export class ApiClient {
  private readonly ca: Buffer | undefined;

  constructor(readonly target: Target) {
    this.ca = target.caFile ? readFileSync(target.caFile) : undefined;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>("GET", path, { query });
  }

  call<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(`${this.target.url.replace(/\/$/, "")}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      for (const item of v === undefined ? [] : Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { authorization: `Bearer ${this.target.token}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { method, headers, ...(this.ca ? { ca: this.ca } : {}), timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          if (status >= 200 && status < 300) return resolve(json as T);
          const problem = json as { detail?: string; code?: string } | undefined;
          reject(new ApiCallError(status, problem?.code ?? "http_error", problem?.detail ?? `HTTP ${status} from ${url.origin}: ${text.slice(0, 200)}`));
        });
      });
      req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
      req.on("error", (err) => reject(new Error(`cannot reach the shoal API at ${this.target.url}: ${err.message}`)));
      req.end(body);
    });
  }
}

/**
 * Runs a read-then-write (the write carries the version read); when someone
 * else changed the object in between (409 version_conflict), reads and writes again.
 */
export async function retryOnStaleVersion<T>(readAndWrite: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readAndWrite();
    } catch (err) {
      if (!(err instanceof ApiCallError && err.code === "version_conflict" && attempt < attempts)) throw err;
    }
  }
}
