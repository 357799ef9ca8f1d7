import type { events } from "../db/schema/index.js";
import { parseDurationMs } from "../domain/units.js";

export type EventRow = typeof events.$inferSelect;

/** An event as the API and webhooks show it (docker's Type, Action, Actor). */
export interface EventView {
  id: number;
  /** `type.action`, e.g. `task.failed`, `service.update.paused`: what filters and webhooks match. */
  name: string;
  type: EventRow["type"];
  action: string;
  actor: { id: string; attributes: Record<string, string> };
  time: string;
}

export const eventName = (e: Pick<EventRow, "type" | "action">) => `${e.type}.${e.action}`;

export const toEventView = (e: EventRow): EventView => ({
  id: e.id,
  name: eventName(e),
  type: e.type,
  action: e.action,
  actor: { id: e.actorId, attributes: e.attributes },
  time: new Date(e.time).toISOString(),
});

/** Letters, digits, `_`, `-`, dot-separated; `*` stands for any run of characters (dots too). */
export const eventPatternRegex = /^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*$/;

/**
 * `*` matches any run of characters. Matched by walking both strings once
 * with a return to the last `*` (at most pattern × text steps), not by a
 * regular expression: `.*.*.*…` backtracks exponentially, and a pattern is
 * user input (100 characters of `*` took minutes).
 */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * An event pattern matches the event's name (`task.failed`, `service.*`,
 * `service.update.*`) or, as docker's `event=` filter does, its action alone (`failed`).
 */
export const matchesEventPattern = (pattern: string, e: Pick<EventRow, "type" | "action">) =>
  globMatches(pattern, eventName(e)) || globMatches(pattern, e.action);

/**
 * docker events filters: values of one filter are alternatives, different
 * filters must all hold. `services` and `nodes` hold ids and names (the
 * caller adds the ids of the names it knows).
 */
export interface EventFilter {
  types?: string[];
  events?: string[];
  services?: Set<string>;
  nodes?: Set<string>;
}

/** The service an event is about: a service event's actor, a task event's service. */
function serviceRefs(e: EventRow): string[] {
  if (e.type === "service") return [e.actorId, e.attributes.name ?? ""];
  if (e.type === "task") return [e.attributes.service ?? ""];
  return [];
}

/** The node an event is about: a node event's actor, a task event's node. */
function nodeRefs(e: EventRow): string[] {
  if (e.type === "node") return [e.actorId, e.attributes.hostname ?? ""];
  if (e.type === "task") return [e.attributes.node ?? ""];
  return [];
}

export function matchesEventFilter(e: EventRow, f: EventFilter): boolean {
  if (f.types?.length && !f.types.includes(e.type)) return false;
  if (f.events?.length && !f.events.some((p) => matchesEventPattern(p, e))) return false;
  if (f.services?.size && !serviceRefs(e).some((r) => r && f.services!.has(r))) return false;
  if (f.nodes?.size && !nodeRefs(e).some((r) => r && f.nodes!.has(r))) return false;
  return true;
}

/**
 * docker's `--since`/`--until` values: an RFC 3339 time, Unix seconds
 * (fractions allowed), or a Go duration before `now` (`10m`, `1h30m`).
 * Undefined when the value is none of these.
 */
export function parseEventTime(value: string, now: number): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const ago = parseDurationMs(value);
  if (ago !== undefined) return now - ago;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
