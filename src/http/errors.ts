import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { maxBodyBytes } from "../domain/limits.js";

/** Every error code the API answers with, and its HTTP status. */
export const errorStatus = {
  malformed_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  malformed_request: 400,
  method_not_allowed: 405,
  request_timeout: 408,
  version_conflict: 409,
  conflict: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  too_many_requests: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

/** One invalid field: its path in the request (e.g. `body.labels.env`) and what was expected. */
export interface FieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details, the one error shape of the API. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
}

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): ContentfulStatusCode {
    return errorStatus[this.code];
  }

  toProblem(): Problem {
    return {
      type: `urn:shoal:problem:${this.code}`,
      title: this.code.replaceAll("_", " "),
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** A 400 naming one field. */
export const invalidField = (path: string, message: string) => new ApiError("validation_failed", message, [{ path, message }]);

export const notFound = (kind: string, id: string) => new ApiError("not_found", `${kind} ${id} not found`);

export const versionConflict = (kind: string, id: string, given: number) =>
  new ApiError(
    "version_conflict",
    `${kind} ${id} is not at version ${given}: it was changed since it was read; read it again and retry`,
  );

/** SQLite's "database is locked": another writer held the store for longer than the busy timeout. */
const isStoreBusy = (err: unknown): boolean => {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++)
    if ((e as { code?: unknown }).code === "SQLITE_BUSY" || /\bSQLITE_BUSY\b|database is locked/.test(e.message)) return true;
  return false;
};

/**
 * Maps anything thrown while serving to the API's one error shape (the app's and the Docker
 * routes' onError both call it); only unknown errors are 500s. A store that stays locked is a
 * 503 the client may retry, not a fault of shoal's.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    switch (err.status) {
      case 400:
        return new ApiError("malformed_json", `the body is not valid JSON (${err.message})`);
      case 413:
        return new ApiError("payload_too_large", `the body is larger than ${maxBodyBytes} bytes`);
      case 415:
        return new ApiError("unsupported_media_type", "the body must be JSON, sent with Content-Type: application/json");
    }
  }
  if (isStoreBusy(err)) return new ApiError("unavailable", "the database is busy (another writer holds it); retry in a moment");
  return new ApiError("internal", "internal error");
}
