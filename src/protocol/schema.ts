import { z } from "zod";

/**
 * Schema building blocks of the wire (the API and the agent protocol). Plain zod
 * with `.meta()` for OpenAPI, not @hono/zod-openapi: the agent bundles this.
 */

/**
 * A strict object schema whose unknown-key error lists the allowed fields, so
 * `{"replocas": 3}` says what would have been accepted.
 */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `unknown field; allowed fields: ${allowed}` : undefined,
  });
}

/** Label keys as docker takes them: no "=" (it separates key and value on the command line) and no whitespace. */
export const LabelKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^=\s]+$/, 'a label key has no "=" and no whitespace');

const maxLabels = 256;
export const Labels = z
  .record(LabelKey, z.string().max(4096))
  .refine((l) => Object.keys(l).length <= maxLabels, { message: `at most ${maxLabels} labels` });
