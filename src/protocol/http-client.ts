import http, { type IncomingMessage } from "node:http";
import https from "node:https";

/** One invalid field of a problem document (`errors[]`). */
export interface FieldError {
  path: string;
  message: string;
}

/** The API answered with an error: its problem document's detail is the message, its code and field errors come along. */
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

export type Query = Record<string, string | number | string[] | undefined>;

export interface HttpJsonClientOptions {
  url: string;
  /** The bearer token; it may change between calls (a renewed credential). */
  token: string;
  /** Extra CA certificates for HTTPS (node:https, as fetch takes no CA). */
  ca?: Buffer;
  /** Keep connections open between calls (a long-running caller: one TLS session for all its calls). */
  keepAlive?: boolean;
  /** Give up on a call whose connection stays silent this long; callers may bound calls with a signal instead. */
  idleTimeoutMs?: number;
  /** What the caller calls the server in connection errors, e.g. "the shoal API". */
  serverName?: string;
}

export interface CallOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Connections kept open between calls for callers that ask for it, one per call otherwise.
 * Never Node's global agent: since Node 19 it gives sockets a 5 s timeout, which cut any
 * answer slower than that (a busy control plane, a large create).
 */
const agents = {
  keepAlive: { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) },
  perCall: { "http:": new http.Agent({ keepAlive: false }), "https:": new https.Agent({ keepAlive: false }) },
};

/**
 * The one client of shoal's bearer-token JSON APIs (the CLI's and the agent's):
 * JSON bodies, problem+json errors as ApiCallError, HTTPS with an optional CA.
 * node:http(s), not fetch: loading fetch (undici) adds about 20 MB of resident
 * memory, a third of the agent's footprint.
 */
export class HttpJsonClient {
  token: string;
  readonly url: string;

  constructor(private readonly opts: HttpJsonClientOptions) {
    this.url = opts.url;
    this.token = opts.token;
  }

  /** The answer's JSON (undefined when empty or not JSON); a non-2xx answer rejects with ApiCallError. */
  async call<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const answer = await this.request(method, path, opts);
    if (answer.status >= 200 && answer.status < 300) return answer.body as T;
    throw apiCallError(answer.status, answer.text, new URL(this.url));
  }

  /** Any answer, error or not: its status, its text and its JSON (undefined when empty or not JSON). */
  request(method: string, path: string, opts: CallOptions = {}): Promise<{ status: number; body: unknown; text: string }> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = this.send(method, path, { query: opts.query, json: body !== undefined, headers: opts.headers, signal: opts.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: parseJson(text), text });
        });
      }, reject);
      req.end(body);
    });
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.call<T>("GET", path, { query });
  }

  /**
   * A request (GET unless `method`) whose answer is read as it arrives (server-sent events, NDJSON): resolves with
   * the response once it is 2xx, rejects as call() does otherwise. No idle
   * timeout: the caller ends it with `signal`.
   */
  openStream(path: string, opts: { query?: Query; headers?: Record<string, string>; signal: AbortSignal; method?: string; body?: unknown }): Promise<IncomingMessage> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      const req = this.send(
        opts.method ?? "GET",
        path,
        { query: opts.query, json: body !== undefined, headers: { accept: "text/event-stream", ...opts.headers }, signal: opts.signal, stream: true },
        (res, url) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(res);
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => reject(apiCallError(status, Buffer.concat(chunks).toString("utf8"), url)));
        },
        reject,
      );
      req.end(body);
    });
  }

  /** One request with the bearer token and the CA; connection failures reject with where it tried. */
  private send(
    method: string,
    path: string,
    opts: { query?: Query; json?: boolean; headers?: Record<string, string>; signal?: AbortSignal; stream?: boolean },
    onResponse: (res: IncomingMessage, url: URL) => void,
    reject: (err: Error) => void,
  ) {
    const url = new URL(`${this.url.replace(/\/$/, "")}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      for (const item of v === undefined ? [] : Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json", ...opts.headers };
    if (opts.json) headers["content-type"] = "application/json";
    const secure = url.protocol === "https:";
    const idleTimeoutMs = opts.stream ? undefined : this.opts.idleTimeoutMs;
    const req = (secure ? https : http).request(
      url,
      {
        method,
        headers,
        ...(this.opts.ca ? { ca: this.opts.ca } : {}),
        agent: agents[this.opts.keepAlive ? "keepAlive" : "perCall"][secure ? "https:" : "http:"],
        ...(idleTimeoutMs ? { timeout: idleTimeoutMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => onResponse(res, url),
    );
    if (idleTimeoutMs) req.on("timeout", () => req.destroy(new Error(`no answer within ${idleTimeoutMs / 1000} s`)));
    req.on("error", (err) =>
      reject(opts.signal?.aborted ? err : new Error(`cannot reach ${this.opts.serverName ?? "the server"} at ${this.url}: ${err.message}`)),
    );
    return req;
  }
}
