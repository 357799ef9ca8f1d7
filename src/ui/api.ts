import type { ApiEvent } from "../cli/event-views.js";
import { SseParser } from "../cli/sse.js";

/** What the page tells the user when a call fails: the API's problem detail, never a stack trace. */
export class CallError extends Error {
  override name = "CallError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function failure(res: Response): Promise<CallError> {
  const text = await res.text().catch(() => "");
  let detail: string | undefined;
  try {
    detail = (JSON.parse(text) as { detail?: unknown }).detail as string | undefined;
  } catch {
    detail = undefined;
  }
  return new CallError(res.status, typeof detail === "string" ? detail : `the control plane answered HTTP ${res.status}`);
}

async function send(token: string, method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new CallError(0, "the control plane could not be reached");
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/** The page's one way to call the API: the bearer token, JSON in and out, problem documents as CallErrors. */
export const caller =
  (token: string): Call =>
  async <T>(method: string, path: string, body?: unknown) => {
    const res = await send(token, method, path, { body });
    return (res.status === 204 ? undefined : await res.json()) as T;
  };

/** Whether the token is an admin API token, read from its claims (the API checks it on every call; this only hides buttons). */
export function tokenScope(token: string): "admin" | "read" | undefined {
  try {
    const payload = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload)) as { scope?: unknown };
    return claims.scope === "admin" || claims.scope === "read" ? claims.scope : undefined;
  } catch {
    return undefined;
  }
}

export interface StreamHandlers {
  /** The stream is open (again): events from here on arrive; re-read the lists now. */
  onOpen(): void;
  onEvent(e: ApiEvent): void;
  /** The stream broke and is being reopened. */
  onLost(error: CallError): void;
  /** The token was refused: reconnecting will not help. */
  onRefused(error: CallError): void;
}

const reconnectMs = 1000;

/**
 * Follows /v1/events/stream with fetch (EventSource can send no Authorization header),
 * reopening it where it stopped (Last-Event-ID) when it ends or breaks, until `signal` aborts.
 */
export async function followEvents(token: string, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
  let cursor: string | undefined;
  while (!signal.aborted) {
    try {
      const res = await send(token, "GET", "/v1/events/stream", { signal, headers: cursor ? { "last-event-id": cursor } : {} });
      handlers.onOpen();
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const m of parser.push(value)) {
          if (m.id !== undefined) cursor = m.id;
          if (m.event === "message") handlers.onEvent(JSON.parse(m.data) as ApiEvent);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      const error = err instanceof CallError ? err : new CallError(0, "the event stream broke");
      if (error.status === 401 || error.status === 403) return handlers.onRefused(error);
      handlers.onLost(error);
      await new Promise((r) => setTimeout(r, reconnectMs));
    }
  }
}
