import type { StackIssue } from "./issues.js";
import { InterpolationError, substitute } from "../domain/interpolation.js";

/**
 * Substitutes variables in every string of `value` (keys are not
 * interpolated; values of every type are walked). Issues carry the path of
 * the string; unset variables without a default become "" with one warning
 * each, as docker does.
 */
export function interpolate(
  value: unknown,
  env: Record<string, string>,
  path: string,
  issues: StackIssue[],
  unset: Set<string>,
): unknown {
  if (typeof value === "string") {
    try {
      return substitute(value, env, unset);
    } catch (err) {
      if (!(err instanceof InterpolationError)) throw err;
      issues.push({ path, message: `invalid interpolation: ${err.message}` });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}.${i}`, issues, unset));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k, issues, unset)]));
  return value;
}
