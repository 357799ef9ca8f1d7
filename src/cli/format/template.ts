import { maxTemplateActions, maxTemplateLength } from "../../domain/limits.js";
import { UsageError } from "./units.js";

/**
 * The subset of Go templates that `docker --format` is used with in practice:
 * text with `{{.Field}}`, `{{.A.B}}`, `{{.}}` and the functions json, upper,
 * lower, title, join and truncate (`{{json .}}`, `{{join .Args ","}}`). Field
 * names match case-insensitively, so `{{.Spec.Name}}` reads the API's
 * `spec.name`. A field the data does not have is read from `fallback` when
 * one is given (the object as Docker's API shows it). Pure; a template's
 * length and actions are bounded (limits.ts).
 */

type Arg = { kind: "field"; path: string[] } | { kind: "string"; value: string } | { kind: "number"; value: number };
type Node = { kind: "text"; text: string } | { kind: "action"; fn?: string; args: Arg[]; source: string };

const functions: Record<string, (args: unknown[]) => unknown> = {
  json: ([v]) => JSON.stringify(v ?? null),
  upper: ([v]) => show(v).toUpperCase(),
  lower: ([v]) => show(v).toLowerCase(),
  title: ([v]) => show(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  join: ([list, sep]) => (Array.isArray(list) ? list.map(show).join(show(sep)) : show(list)),
  truncate: ([v, n]) => [...show(v)].slice(0, Number(n)).join(""),
};

export interface Template {
  render(data: unknown, fallback?: unknown): string;
}

/** Parses a template; a syntax error, an unknown function or a bad argument is a UsageError. */
export function parseTemplate(source: string): Template {
  if (source.length > maxTemplateLength)
    throw new UsageError(`template: ${source.length} characters; the limit is ${maxTemplateLength}`);
  const nodes: Node[] = [];
  let at = 0;
  let actions = 0;
  while (at < source.length) {
    const open = source.indexOf("{{", at);
    if (open === -1) {
      nodes.push({ kind: "text", text: source.slice(at) });
      break;
    }
    if (open > at) nodes.push({ kind: "text", text: source.slice(at, open) });
    const close = source.indexOf("}}", open + 2);
    if (close === -1) throw new UsageError(`template: unclosed action at ${open + 1}: ${source.slice(open, open + 80)}`);
    if (++actions > maxTemplateActions) throw new UsageError(`template: more than ${maxTemplateActions} actions ({{…}}); the limit is ${maxTemplateActions}`);
    nodes.push(parseAction(source.slice(open + 2, close)));
    at = close + 2;
  }
  return { render: (data, fallback) => nodes.map((n) => (n.kind === "text" ? n.text : evaluate(n, data, fallback))).join("") };
}

function parseAction(inner: string): Node {
  const source = `{{${inner}}}`;
  const words = inner.trim().match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  if (words.length === 0) throw new UsageError(`template: empty action ${source}`);
  const [first, ...rest] = words;
  const fn = first!.startsWith(".") ? undefined : first!;
  if (fn !== undefined && !(fn in functions))
    throw new UsageError(`template: function "${fn}" not defined in ${source}; available: ${Object.keys(functions).join(", ")} (or .Field)`);
  const args = (fn === undefined ? words : rest).map((w) => parseArg(w, source));
  if (fn === undefined && args.length !== 1) throw new UsageError(`template: ${source}: one .Field per action, or a function before it`);
  return { kind: "action", fn, args, source };
}

function parseArg(word: string, source: string): Arg {
  if (word === ".") return { kind: "field", path: [] };
  if (/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(word)) return { kind: "field", path: word.slice(1).split(".") };
  if (word.startsWith('"')) return { kind: "string", value: JSON.parse(word) as string };
  if (/^-?\d+$/.test(word)) return { kind: "number", value: Number(word) };
  throw new UsageError(`template: cannot read "${word}" in ${source}: write .Field, "text" or a number`);
}

function lookup(data: unknown, path: string[], source: string): unknown {
  let value = data;
  for (const name of path) {
    if (value === null || typeof value !== "object") throw new UsageError(`template: ${source}: can't evaluate field ${name} in ${show(value)}`);
    const record = value as Record<string, unknown>;
    const key = name in record ? name : Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined)
      throw new UsageError(`template: ${source}: no field ${name}; fields here: ${Object.keys(record).join(", ")}`);
    value = record[key];
  }
  return value;
}

function lookupEither(data: unknown, fallback: unknown, path: string[], source: string): unknown {
  try {
    return lookup(data, path, source);
  } catch (err) {
    if (fallback === undefined) throw err;
    try {
      return lookup(fallback, path, source);
    } catch {
      throw err;
    }
  }
}

function evaluate(node: Extract<Node, { kind: "action" }>, data: unknown, fallback: unknown): string {
  const values = node.args.map((a) => (a.kind === "field" ? lookupEither(data, fallback, a.path, node.source) : a.value));
  return show(node.fn ? functions[node.fn]!(values) : values[0]);
}

/** A value as text: strings as they are, other values as JSON (objects and lists), empty for null. */
function show(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
