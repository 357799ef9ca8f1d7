import { UsageError } from "./format/units.js";

/** docker's `-f key=value` filters. Pure. */

export function parseFilters(raw: string[], allowed: string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const f of raw) {
    const at = f.indexOf("=");
    if (at <= 0) throw new UsageError(`bad format of filter (expected name=value): ${f}`);
    const key = f.slice(0, at).toLowerCase();
    if (!allowed.includes(key)) throw new UsageError(`invalid filter '${key}'; filters here: ${allowed.join(", ")}`);
    filters.set(key, [...(filters.get(key) ?? []), f.slice(at + 1)]);
  }
  return filters;
}

/** Filters as the API's query parameters (same names), some values rewritten, some keys left to the caller. */
export function filterQuery(filters: Map<string, string[]>, rewrite: Record<string, (v: string) => string> = {}, skip: string[] = []) {
  const query: Record<string, string[]> = {};
  for (const [key, values] of filters) if (!skip.includes(key)) query[key] = values.map(rewrite[key] ?? ((v) => v));
  return query;
}
