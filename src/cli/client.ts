import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { IncomingMessage } from "node:http";
import type { Target } from "./config.js";

/** One invalid field of a problem document (`errors[]`). */
export interface FieldError {
  path: string;
  message: string;
}

/** The API answered with an error: its problem document's detail is the message, its field errors come along. */
export class ApiCallError extends Error {
  override name = "ApiCallError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** A non-2xx answer as an error: the problem document's detail, or the start of whatever came back. */
function apiCallError(status: number, text: string, url: URL): ApiCallError {
  const problem = parseJson(text) as { detail?: string; code?: string; errors?: FieldError[] } | undefined;
  return new ApiCallError(status, problem?.code ?? "http_error", problem?.detail ?? `HTTP ${status} from ${url.origin}: ${text.slice(0, 200)}`, problem?.errors);
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
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise<T>((resolve, reject) => {
      const req = this.send(method, path, { query: opts.query, json: body !== undefined, timeoutMs: 30_000 }, (res, url) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parseJson(text) as T);
          reject(apiCallError(status, text, url));
        });
      }, reject);
      req.end(body);
    });
  }

  /**
   * A GET whose answer is read as it arrives (server-sent events): resolves with
   * the response once it is 2xx, rejects as call() does otherwise. No timeout:
   * the caller ends it with `abort`.
   */
  openStream(path: string, opts: { query?: Query; headers?: Record<string, string>; signal: AbortSignal }): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.send("GET", path, { query: opts.query, headers: { accept: "text/event-stream", ...opts.headers }, signal: opts.signal }, (res, url) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => reject(apiCallError(status, Buffer.concat(chunks).toString("utf8"), url)));
      }, reject);
      req.end();
    });
  }

  /** One request with the bearer token and the CA; connection failures reject with where it tried. */
  private send(
    method: string,
    path: string,
    opts: { query?: Query; json?: boolean; headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal },
    onResponse: (res: IncomingMessage, url: URL) => void,
    reject: (err: Error) => void,
  ) {
    const url = new URL(`${this.target.url.replace(/\/$/, "")}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      for (const item of v === undefined ? [] : Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
    const headers: Record<string, string> = { authorization: `Bearer ${this.target.token}`, accept: "application/json", ...opts.headers };
    if (opts.json) headers["content-type"] = "application/json";
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(
      url,
      { method, headers, ...(this.ca ? { ca: this.ca } : {}), ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) },
      (res) => onResponse(res, url),
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${(opts.timeoutMs ?? 0) / 1000} s`)));
    req.on("error", (err) => reject(opts.signal?.aborted ? err : new Error(`cannot reach the shoal API at ${this.target.url}: ${err.message}`)));
    return req;
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
