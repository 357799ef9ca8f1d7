import { constraintMatches } from "./constraint.js";
import type { NodeInfo } from "./node-info.js";
import { normalizeArchitecture, type PreparedTask } from "./task-to-schedule.js";

/**
 * One of Swarm's node filters (SwarmKit's scheduler/filter.go). A node is
 * ruled out by the first enabled filter it fails, and that filter's
 * `explain` phrase counts it in the "no suitable node (…)" message.
 */
export interface Filter {
  readonly name: string;
  /**
   * Whether placing tasks can change the verdict (resources, host ports, max
   * replicas). The scheduler runs the others once per node per task group and
   * re-checks only these on the node it is about to use.
   */
  readonly dynamic: boolean;
  /** Whether the filter applies to the task at all; a disabled filter passes every node. */
  enabled(task: PreparedTask): boolean;
  check(task: PreparedTask, node: NodeInfo): boolean;
  /** The phrase for `count` nodes this filter ruled out. */
  explain(count: number): string;
}

const nodes = (count: number) => (count === 1 ? "1 node" : `${count} nodes`);

export const readyFilter: Filter = {
  name: "ready",
  dynamic: false,
  enabled: () => true,
  check: (_task, node) => node.ready && node.availability === "active",
  explain: (count) => `${nodes(count)} not available for new tasks`,
};

/** Disabled without reservations, so an over-committed node still takes tasks that reserve nothing. */
export const resourceFilter: Filter = {
  name: "resources",
  dynamic: true,
  enabled: (task) => task.reservations.nanoCpus > 0 || task.reservations.memoryBytes > 0,
  check: ({ reservations }, node) =>
    reservations.nanoCpus <= node.resources.nanoCpus - node.reserved.nanoCpus &&
    reservations.memoryBytes <= node.resources.memoryBytes - node.reserved.memoryBytes,
  explain: (count) => `insufficient resources on ${nodes(count)}`,
};

export const constraintFilter: Filter = {
  name: "constraints",
  dynamic: false,
  enabled: (task) => task.constraints.length > 0,
  check: (task, node) => task.constraints.every((c) => constraintMatches(node, c)),
  explain: (count) => `scheduling constraints not satisfied on ${nodes(count)}`,
};

export const platformFilter: Filter = {
  name: "platform",
  dynamic: false,
  enabled: (task) => task.platforms.length > 0,
  check: (task, node) => {
    const os = node.os.toLowerCase();
    const architecture = normalizeArchitecture(node.architecture);
    return task.platforms.some((p) => (p.os === "" || p.os === os) && (p.architecture === "" || p.architecture === architecture));
  },
  explain: (count) => `unsupported platform on ${nodes(count)}`,
};

export const hostPortFilter: Filter = {
  name: "host-ports",
  dynamic: true,
  enabled: (task) => task.hostPorts.length > 0,
  check: (task, node) => task.hostPorts.every((port) => !node.hostPorts.has(port)),
  explain: (count) => `host-mode port already in use on ${nodes(count)}`,
};

export const maxReplicasFilter: Filter = {
  name: "max-replicas",
  dynamic: true,
  enabled: (task) => task.maxReplicasPerNode > 0,
  check: (task, node) => (node.tasksByService.get(task.serviceId) ?? 0) < task.maxReplicasPerNode,
  explain: (count) => `max replicas per node limit exceeded on ${nodes(count)}`,
};

/** Swarm's filters in Swarm's order. */
export const filters: readonly Filter[] = [
  readyFilter,
  resourceFilter,
  constraintFilter,
  platformFilter,
  hostPortFilter,
  maxReplicasFilter,
];
