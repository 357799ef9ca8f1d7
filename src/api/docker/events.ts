import type { EventRow } from "../../events/event-filter.js";
import { anyOf, type DockerFilters } from "./filters.js";
import { dockerId } from "./translate.js";

/** A swarm event as dockerd streams it from GET /events. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "swarm";
  time: number;
  timeNano: number;
}

/** The object types a swarm manager reports events for; shoal's task and stack events have no Docker counterpart. */
const swarmTypes = new Set(["node", "service", "network", "secret", "config"]);

/** shoal's rollout actions, as the `updatestate.new` of Docker's service update event. */
const updateStates: Record<string, string> = {
  "update.paused": "paused",
  "update.completed": "completed",
  "update.rolled_back": "rollback_started",
  "rollback.paused": "rollback_paused",
  "rollback.completed": "rollback_completed",
  rollback: "rollback_started",
};

/** What Docker calls the event and what it attaches (`name` on every actor); undefined: Docker has no such event. Pure. */
function dockerAction(e: EventRow): { action: string; attributes: Record<string, string> } | undefined {
  const { hostname, ...rest } = e.attributes;
  const attributes = hostname !== undefined ? { ...rest, name: hostname } : rest;
  if (e.type === "node") {
    if (e.action === "join") return { action: "create", attributes };
    if (e.action === "ready" || e.action === "down") return { action: "update", attributes: { ...attributes, "state.new": e.action } };
    return e.action === "update" || e.action === "remove" ? { action: e.action, attributes } : undefined;
  }
  if (e.type === "service" && updateStates[e.action]) return { action: "update", attributes: { ...attributes, "updatestate.new": updateStates[e.action]! } };
  return ["create", "update", "remove"].includes(e.action) ? { action: e.action, attributes } : undefined;
}

export function dockerEvent(e: EventRow): DockerEvent | undefined {
  if (!swarmTypes.has(e.type)) return undefined;
  const docker = dockerAction(e);
  if (!docker) return undefined;
  return {
    Type: e.type,
    Action: docker.action,
    Actor: { ID: dockerId(e.actorId), Attributes: docker.attributes },
    scope: "swarm",
    time: Math.floor(e.time / 1000),
    timeNano: e.time * 1_000_000,
  };
}

export const dockerEventFilterKeys = ["type", "event", "scope", "label", "node", "service", "network", "secret", "config", "container", "image", "volume", "daemon", "plugin"] as const;

/**
 * dockerd's event filter: each key given must match. `type`, `event` (the action) and `scope`
 * exactly; object keys (`service=web`) by a prefix of the actor's id or name, whatever the type,
 * as dockerd's fuzzy match does; `label` as key or key=value on the attributes. Keys of local
 * objects (containers, images…) match nothing: a swarm manager reports none. Pure.
 */
export function matchesDockerEvent(ev: DockerEvent, f: DockerFilters): boolean {
  const fuzzy = (key: string) => anyOf(f, key, (v) => ev.Actor.ID.startsWith(v) || (ev.Actor.Attributes.name ?? "").startsWith(v));
  return (
    anyOf(f, "type", (v) => v === ev.Type) &&
    anyOf(f, "event", (v) => v === ev.Action) &&
    anyOf(f, "scope", (v) => v === ev.scope) &&
    anyOf(f, "label", (v) => {
      const [key, value] = v.split(/=(.*)/s);
      return value === undefined ? key! in ev.Actor.Attributes : ev.Actor.Attributes[key!] === value;
    }) &&
    ["node", "service", "network", "secret", "config"].every(fuzzy) &&
    ["container", "image", "volume", "daemon", "plugin"].every((key) => !f.get(key)?.length)
  );
}
