import { z, type RouteConfig } from "@hono/zod-openapi";
import { errorStatus } from "./errors.js";
import { strictObject } from "../protocol/schema.js";

const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:shoal:problem:validation_failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(errorStatus) as [keyof typeof errorStatus, ...(keyof typeof errorStatus)[]]),
    errors: z
      .array(z.object({ path: z.string().openapi({ example: "body.heartbeatPeriodMs" }), message: z.string() }))
      .optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details; the one error shape of the API." });

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** A caller over its rate limit. */
export const tooManyRequestsResponse = { 429: problem("Too many calls; retry after the window given in the detail") } as const;

/** The error answers every authenticated route may give. */
export const errorResponses = {
  400: problem("Malformed JSON or invalid input; `errors` names each field"),
  401: problem("Missing, invalid or revoked credential"),
  403: problem("The credential is valid but not allowed here"),
  404: problem("No such object"),
  409: problem("Stale version or conflicting state"),
  413: problem("Body too large"),
  415: problem("Body is not JSON"),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const bearer = [{ bearerAuth: [] }] satisfies RouteConfig["security"];

const version = z.coerce
  .number({ error: "the version you read, a positive integer" })
  .int({ error: "the version you read, a positive integer" })
  .min(1, { error: "the version you read, a positive integer" })
  .openapi({ description: "The version the change is based on (as read); a stale one gets 409" });

export const VersionQuery = strictObject({ version });

/** For actions that make sense without reading first (rollback); given, it guards as VersionQuery does. */
export const OptionalVersionQuery = strictObject({ version: version.optional() });
