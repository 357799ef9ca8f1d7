import type { StackIssue } from "./issues.js";
import { InterpolationError, substitute } from "../domain/interpolation.js";
import { maxComposeText } from "../domain/limits.js";

/** What the interpolated strings of one file may add up to, and whether that was passed. */
export interface TextBudget {
  left: number;
  exhausted: boolean;
}

export const newTextBudget = (): TextBudget => ({ left: maxComposeText, exhausted: false });

/**
 * Substitutes variables in every string of `value` (keys are not
 * interpolated; values of every type are walked). Issues carry the path of
 * the string; unset variables without a default become "" with one warning
 * each, as docker does. Runs on measured values (read-yaml.ts), so its
 * recursion is bounded by maxComposeDepth; `budget` bounds what the
 * substitutions make: past it, one issue and no more substituting.
 */
export function interpolate(
  value: unknown,
  env: Record<string, string>,
  path: string,
  issues: StackIssue[],
  unset: Set<string>,
  budget: TextBudget = newTextBudget(),
): unknown {
  if (typeof value === "string") {
    if (budget.exhausted) return value;
    try {
      const result = substitute(value, env, unset);
      budget.left -= result.length;
      if (budget.left < 0) {
        budget.exhausted = true;
        issues.push({ path, message: `the file's values grow past ${maxComposeText} characters once substituted; the limit is ${maxComposeText}` });
        return value;
      }
      return result;
    } catch (err) {
      if (!(err instanceof InterpolationError)) throw err;
      issues.push({ path, message: `invalid interpolation: ${err.message}` });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${path}.${i}`, issues, unset, budget));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, path ? `${path}.${k}` : k, issues, unset, budget)]));
  return value;
}
