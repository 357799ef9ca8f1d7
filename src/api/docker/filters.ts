import { maxFilterValueLength, maxFilterValues } from "../../domain/limits.js";
import { ApiError } from "../../http/errors.js";
import { jsonTooDeep, jsonTooDeepMessage } from "../json-depth.js";

/**
 * Docker's `filters` query parameter: JSON, either `{"name":{"web":true}}`
 * (the docker CLI) or `{"service":["id"]}` (dockerode, docker-py). Pure.
 */
export type DockerFilters = Map<string, string[]>;

export function parseDockerFilters(raw: string | undefined, allowed: readonly string[]): DockerFilters {
  const filters: DockerFilters = new Map();
  if (raw === undefined || raw === "") return filters;
  if (jsonTooDeep(raw)) throw new ApiError("validation_failed", `invalid filters: ${jsonTooDeepMessage}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ApiError("validation_failed", `invalid filters: not JSON: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ApiError("validation_failed", 'invalid filters: expected a JSON object like {"name":["web"]}');
  for (const [key, value] of Object.entries(parsed)) {
    if (!allowed.includes(key)) throw new ApiError("validation_failed", `invalid filter '${key}'; filters here: ${allowed.join(", ")}`);
    const values = Array.isArray(value) ? value : value && typeof value === "object" ? Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] === true) : undefined;
    if (!values || !values.every((v): v is string => typeof v === "string"))
      throw new ApiError("validation_failed", `invalid filter '${key}': expected a list of strings or an object of true values`);
    if (values.length > maxFilterValues || values.some((v) => v.length > maxFilterValueLength))
      throw new ApiError("validation_failed", `invalid filter '${key}': at most ${maxFilterValues} values of at most ${maxFilterValueLength} characters each`);
    filters.set(key, values);
  }
  return filters;
}

/** Values of one filter are alternatives: true when the filter is absent or one value matches. */
export const anyOf = (filters: DockerFilters, key: string, matches: (value: string) => boolean) => {
  const values = filters.get(key);
  return !values?.length || values.some(matches);
};

const truthy = ["1", "t", "T", "TRUE", "true", "True"];
const falsy = ["0", "f", "F", "FALSE", "false", "False"];

/** A boolean query parameter as Go's strconv.ParseBool reads it (the CLI sends 1/0, docker-py True/False); absent → false. */
export function queryBool(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === "") return false;
  if (truthy.includes(raw)) return true;
  if (falsy.includes(raw)) return false;
  throw new ApiError("validation_failed", `invalid ${name}: ${JSON.stringify(raw.slice(0, 50))}; expected true or false (1 or 0)`);
}
