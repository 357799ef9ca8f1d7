import type { Placement, PortConfig, SchedulingStrategy } from "../domain/service-spec.js";
import { parseConstraint, type Constraint } from "../domain/constraint.js";
import type { ResourceAmounts } from "./node-info.js";

/**
 * A pending task the reconcile pass hands to `scheduleTasks`. Tasks of one
 * service come from one spec, so they share reservations, placement, host
 * ports and strategy; the scheduler reads those from the first of them.
 */
export interface TaskToSchedule {
  id: string;
  serviceId: string;
  reservations: ResourceAmounts;
  placement: Placement;
  /** Published ports; only host-mode ones with a published port matter. */
  hostPorts: PortConfig[];
  strategy: SchedulingStrategy;
  /** Set for tasks of global services: the node the orchestrator chose; only it is checked. */
  nodeId?: string;
}

/** What the filters and strategies need of a task group, derived once per group rather than per node. */
export interface PreparedTask {
  serviceId: string;
  reservations: ResourceAmounts;
  constraints: Constraint[];
  /** Lower-cased, architecture aliases resolved; an empty field matches anything. */
  platforms: { os: string; architecture: string }[];
  /** "protocol/port", the form NodeInfo.hostPorts holds. */
  hostPorts: string[];
  /** 0 = no limit. */
  maxReplicasPerNode: number;
  /** Label descriptors to spread over, outermost first ("node.labels.zone", "engine.labels.x"). */
  preferences: string[];
  strategy: SchedulingStrategy;
}

const architectureAliases: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

/** Lower-cases an architecture and folds Swarm's aliases (x86_64 ≡ amd64, aarch64 ≡ arm64). */
export function normalizeArchitecture(architecture: string): string {
  const lower = architecture.toLowerCase();
  return architectureAliases[lower] ?? lower;
}

/** An unknown key never matches (constraint.ts), which is what a constraint that does not parse must do. */
const unmatchable: Constraint = { key: "", operator: "==", value: "" };

const preferencePrefixes = ["node.labels.", "engine.labels."];

/**
 * Parses and normalizes a group's shared fields once. Constraints were
 * validated by the API; one that still fails to parse keeps the task off every
 * node rather than being ignored. Preferences on anything but node or engine
 * labels are skipped, as SwarmKit does.
 */
export function prepareTask(task: TaskToSchedule): PreparedTask {
  const { placement } = task;
  return {
    serviceId: task.serviceId,
    reservations: task.reservations,
    constraints: placement.constraints.map((text) => {
      const parsed = parseConstraint(text);
      return "error" in parsed ? unmatchable : parsed;
    }),
    platforms: placement.platforms.map((p) => ({ os: p.os.toLowerCase(), architecture: normalizeArchitecture(p.architecture) })),
    hostPorts: task.hostPorts
      .filter((p) => p.publishMode === "host" && p.publishedPort)
      .map((p) => `${p.protocol}/${p.publishedPort}`),
    maxReplicasPerNode: placement.maxReplicasPerNode,
    preferences: placement.preferences
      .map((p) => p.spread)
      .filter((d) => preferencePrefixes.some((prefix) => d.length > prefix.length && d.toLowerCase().startsWith(prefix))),
    strategy: task.strategy,
  };
}
