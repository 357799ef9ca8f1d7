import type { EndpointSpec, ServiceSpec, TaskTemplate } from "./service-spec.js";

/** The part of a service spec its tasks run: a change here redeploys tasks; replicas or labels do not. */
export interface TaskSpec {
  task: TaskTemplate;
  endpoint: EndpointSpec;
}

export const taskSpecOf = (spec: ServiceSpec): TaskSpec => ({ task: spec.task, endpoint: spec.endpoint });

/** JSON with object keys sorted, so equal specs serialize equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** Content hash of a task spec (two 32-bit FNV-1a lanes; identity, not security). */
export function hashTaskSpec(spec: TaskSpec): string {
  const text = stableJson(spec);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`;
}

/** Whether going from one spec to another changes what the tasks run (so they are replaced). */
export const changesTasks = (from: ServiceSpec, to: ServiceSpec) => hashTaskSpec(taskSpecOf(from)) !== hashTaskSpec(taskSpecOf(to));
