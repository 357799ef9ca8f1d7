import type { z } from "@hono/zod-openapi";
import { ApiError, type FieldError } from "./errors.js";

const targetNames: Record<string, string> = { json: "body", query: "query", param: "path", header: "header" };

/** zod says "expected string, received undefined" for a missing field; say it plainly. */
const humanize = (message: string) =>
  message.replace(/^Invalid input: expected (\w+), received undefined$/, "required: expected $1");

/** Turns a zod failure on one request part into the API's validation error, one entry per bad field. */
export function validationError(error: z.ZodError, target: string): ApiError {
  const root = targetNames[target] ?? target;
  const errors: FieldError[] = error.issues.flatMap((issue) => {
    const base = [root, ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => ({ path: [...base, key].join("."), message: issue.message }));
    // A bad record key: the key's own issue says what is wrong with it.
    const message = issue.code === "invalid_key" ? `bad key: ${issue.issues[0]?.message ?? issue.message}` : issue.message;
    return [{ path: base.join("."), message: humanize(message) }];
  });
  const summary = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  return new ApiError("validation_failed", `invalid request: ${summary}`, errors);
}
