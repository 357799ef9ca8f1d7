import type { StackIssue } from "./issues.js";
import { quoted } from "../domain/limits.js";
import { closest } from "./suggest.js";

/**
 * A small description language for the compose format, and its checker:
 * every issue names the exact path, unknown keys get a "did you mean", and
 * keys Swarm ignores or refuses are reported as such rather than as unknown.
 */
export type Shape =
  | { kind: "string" | "number" | "integer" | "boolean" | "null" | "any" }
  | { kind: "enum"; values: readonly string[] }
  /** A string (or, with `numbers`, a number) that `parse` accepts; `expected` says what would be accepted. */
  | { kind: "format"; expected: string; numbers?: boolean; parse: (v: string | number) => unknown }
  | { kind: "list"; item: Shape }
  | { kind: "map"; value: Shape }
  | { kind: "object"; fields: Record<string, Shape>; extensions?: boolean; ignored?: readonly string[]; refused?: Record<string, string> }
  /** The first option whose type fits the value's type checks it. */
  | { kind: "oneOf"; options: Shape[]; expected: string };

export const string: Shape = { kind: "string" };
export const integer: Shape = { kind: "integer" };
export const number: Shape = { kind: "number" };
export const boolean: Shape = { kind: "boolean" };
export const nothing: Shape = { kind: "null" };
export const any: Shape = { kind: "any" };
export const list = (item: Shape): Shape => ({ kind: "list", item });
export const map = (value: Shape): Shape => ({ kind: "map", value });
export const oneOf = (expected: string, ...options: Shape[]): Shape => ({ kind: "oneOf", options, expected });
export const enumOf = (...values: string[]): Shape => ({ kind: "enum", values });
export const object = (fields: Record<string, Shape>, extra: Omit<Extract<Shape, { kind: "object" }>, "kind" | "fields"> = {}): Shape => ({
  kind: "object",
  fields,
  ...extra,
});

function typeName(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a number";
  return typeof v === "string" ? "a string" : `a ${typeof v}`;
}

function describe(shape: Shape): string {
  switch (shape.kind) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "integer":
      return "an integer";
    case "boolean":
      return "true or false";
    case "null":
      return "nothing";
    case "any":
      return "anything";
    case "enum":
      return `one of ${shape.values.join(", ")}`;
    case "format":
      return shape.expected;
    case "list":
      return `a list of ${describe(shape.item).replace(/^an? /, "")}s`;
    case "map":
    case "object":
      return "a mapping";
    case "oneOf":
      return shape.expected;
  }
}

/** Whether a value's type is the one a shape takes (not whether it is valid). */
function fits(shape: Shape, v: unknown): boolean {
  switch (shape.kind) {
    case "string":
    case "enum":
      return typeof v === "string";
    case "format":
      return typeof v === "string" || (!!shape.numbers && typeof v === "number");
    case "number":
    case "integer":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
    case "null":
      return v === null || v === undefined;
    case "any":
      return true;
    case "list":
      return Array.isArray(v);
    case "map":
    case "object":
      return !!v && typeof v === "object" && !Array.isArray(v);
    case "oneOf":
      return shape.options.some((o) => fits(o, v));
  }
}

export interface CheckResult {
  errors: StackIssue[];
  /** Keys Swarm ignores, by the path of the mapping that holds them. */
  ignored: Map<string, string[]>;
}

/** An empty key is shown as "" so that its path still names something. */
const join = (path: string, key: string | number) => {
  const shown = key === "" ? '""' : String(key);
  return path ? `${path}.${shown}` : shown;
};

/** Checks `value` against `shape`, adding what is wrong to `result`. */
export function check(value: unknown, shape: Shape, path: string, result: CheckResult): void {
  const fail = (message: string) => void result.errors.push({ path, message });
  if (!fits(shape, value)) return fail(`expected ${describe(shape)}, got ${typeName(value)}`);
  switch (shape.kind) {
    case "integer":
      if (!Number.isInteger(value)) fail(`expected an integer, got ${String(value).slice(0, 40)}`);
      return;
    case "enum":
      if (!shape.values.includes(value as string)) {
        const guess = closest(value as string, shape.values);
        fail(`${quoted(value)} is not one of ${shape.values.join(", ")}${guess ? `; did you mean ${guess}?` : ""}`);
      }
      return;
    case "format":
      if (shape.parse(value as string | number) === undefined) fail(`${quoted(value)} is not ${shape.expected}`);
      return;
    case "list":
      (value as unknown[]).forEach((item, i) => check(item, shape.item, join(path, i), result));
      return;
    case "map":
      for (const [k, v] of Object.entries(value as object)) check(v, shape.value, join(path, k), result);
      return;
    case "oneOf":
      return check(value, shape.options.find((o) => fits(o, value))!, path, result);
    case "object":
      return checkObject(value as Record<string, unknown>, shape, path, result);
    default:
      return;
  }
}

function checkObject(value: Record<string, unknown>, shape: Extract<Shape, { kind: "object" }>, path: string, result: CheckResult) {
  const ignored: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const at = join(path, key);
    const field = shape.fields[key];
    if (field) check(v, field, at, result);
    else if (shape.extensions && key.startsWith("x-")) continue;
    else if (shape.ignored?.includes(key)) ignored.push(key);
    else if (shape.refused?.[key]) result.errors.push({ path: at, message: `not supported by stacks: ${shape.refused[key]}` });
    else {
      const guess = closest(key, Object.keys(shape.fields));
      result.errors.push({
        path: at,
        message: guess ? `unknown key; did you mean ${guess}?` : `unknown key; allowed keys: ${Object.keys(shape.fields).join(", ")}`,
      });
    }
  }
  if (ignored.length) result.ignored.set(path, ignored);
}
