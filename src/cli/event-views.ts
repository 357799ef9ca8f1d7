import { unescape } from "./format/output.js";
import { parseTemplate } from "./format/template.js";

/** An event as the API answers it (GET /v1/events, the stream's data). */
export interface ApiEvent {
  id: number;
  name: string;
  type: string;
  action: string;
  actor: { id: string; attributes: Record<string, string> };
  time: string;
}

/** Go's RFC3339NanoFixed, as docker events prints times: 2026-11-24T22:01:02.000000000Z. */
export const nanoTime = (iso: string) => new Date(iso).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");

/** docker's events message: what --format json prints and templates read ({{.Type}}, {{.Actor.Attributes.name}}, {{.TimeNano}}). */
function dockerEvent(e: ApiEvent) {
  const ms = Date.parse(e.time);
  return {
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.actor.id, Attributes: e.actor.attributes },
    scope: "swarm",
    time: Math.floor(ms / 1000),
    timeNano: ms * 1_000_000,
  };
}

/**
 * How `shoal events` prints each event: docker's line
 * `<time> <type> <action> <actor id> (k=v, …)` (attributes sorted), one JSON
 * object per line for `json`, or the template. A bad template fails here,
 * before anything is read. Pure.
 */
export function eventPrinter(format?: string): (e: ApiEvent) => string {
  const f = format?.trim();
  if (f === "json") return (e) => `${JSON.stringify(dockerEvent(e))}\n`;
  if (f) {
    const template = parseTemplate(unescape(f));
    return (e) => `${template.render(dockerEvent(e))}\n`;
  }
  return (e) => {
    const attributes = Object.keys(e.actor.attributes)
      .sort()
      .map((k) => `${k}=${e.actor.attributes[k]}`);
    return `${nanoTime(e.time)} ${e.type} ${e.action} ${e.actor.id}${attributes.length ? ` (${attributes.join(", ")})` : ""}\n`;
  };
}
