import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error code the API answers with, and its HTTP status. */
export const errorStatus = {
  malformed_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  version_conflict: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  internal: 500,
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

export const notFound = (kind: string, id: string) => new ApiError("not_found", `${kind} ${id} not found`);

export const versionConflict = (kind: string, id: string, given: number) =>
  new ApiError(
    "version_conflict",
    `${kind} ${id} is not at version ${given}: it was changed since it was read; read it again and retry`,
  );
