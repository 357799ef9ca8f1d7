import { z } from "@hono/zod-openapi";
import { maxFilterValueLength, maxFilterValues } from "../domain/limits.js";

/** A query parameter given once or repeated (`?role=worker&role=manager`), as a list of `item`s. */
export const repeatedOf = <T extends z.ZodType<string>>(item: T, description: string) =>
  z
    .preprocess((v) => (typeof v === "string" ? [v] : v), z.array(item).max(maxFilterValues, `at most ${maxFilterValues} values`))
    .optional()
    .openapi({ description, type: "array", items: { type: "string" } });

/** A repeatable string query parameter. */
export const repeated = (description: string) => repeatedOf(z.string().max(maxFilterValueLength, `at most ${maxFilterValueLength} characters`), description);

/** An integer query parameter within bounds, its error saying which. */
export const queryInt = (min: number, max: number) => {
  const error = `an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

export const isoTime = (ms: number) => new Date(ms).toISOString();
