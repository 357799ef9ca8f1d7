import type { NodeAvailability, NodeLoad } from "../domain/node.js";
import type { Resources } from "../domain/service-spec.js";
import type { ConstraintTarget } from "./constraint.js";

/** CPUs in nano-CPUs (1 CPU = 1e9) and memory in bytes, as in the service spec. */
export type ResourceAmounts = Resources["reservations"];

/**
 * The scheduling view of a node (SwarmKit's NodeInfo): what the filters and
 * strategies read. The reconcile pass builds fresh ones from the store with
 * `newNodeInfo` and `addTask`; `scheduleTasks` keeps their accounting up to
 * date as it places tasks.
 */
export interface NodeInfo extends ConstraintTarget {
  /** The node's state is ready (heartbeats arrive). */
  ready: boolean;
  availability: NodeAvailability;
  /** Total capacity of the node. */
  resources: ResourceAmounts;
  /** Sum of the reservations of the node's active tasks. */
  reserved: ResourceAmounts;
  /** Active tasks of every service. */
  taskCount: number;
  /** Active tasks per service id. */
  tasksByService: Map<string, number>;
  /** "protocol/port" of the host-mode published ports active tasks hold. */
  hostPorts: Set<string>;
  /** Task failures per service id in the last 5 minutes; spread puts nodes with 5+ last. */
  recentFailures: Map<string, number>;
}

/** What an active task holds on its node. */
export interface ActiveTask {
  serviceId: string;
  reservations: ResourceAmounts;
  /** "protocol/port" of its host-mode published ports, as stored on the task row. */
  hostPorts: readonly string[];
}

/** A node with no tasks yet; copies what accounting changes, so it never writes to `node`. */
export function newNodeInfo(node: ConstraintTarget & Pick<NodeInfo, "ready" | "availability" | "resources">): NodeInfo {
  return {
    id: node.id,
    hostname: node.hostname,
    role: node.role,
    os: node.os,
    architecture: node.architecture,
    addr: node.addr,
    labels: node.labels,
    engineLabels: node.engineLabels,
    ready: node.ready,
    availability: node.availability,
    resources: { nanoCpus: node.resources.nanoCpus, memoryBytes: node.resources.memoryBytes },
    reserved: { nanoCpus: 0, memoryBytes: 0 },
    taskCount: 0,
    tasksByService: new Map(),
    hostPorts: new Set(),
    recentFailures: new Map(),
  };
}

/**
 * Accounts an active task on its node: reservations, counts, host ports.
 * The reconcile pass calls it per active task, scheduleTasks per placement.
 */
export function addTask(node: NodeInfo, task: ActiveTask): void {
  node.reserved.nanoCpus += task.reservations.nanoCpus;
  node.reserved.memoryBytes += task.reservations.memoryBytes;
  node.taskCount++;
  node.tasksByService.set(task.serviceId, (node.tasksByService.get(task.serviceId) ?? 0) + 1);
  for (const port of task.hostPorts) node.hostPorts.add(port);
}

/** Accounts the tasks of other services on the node (a pass reads only the services it plans, and these sums for the rest). */
export function addLoad(node: NodeInfo, load: NodeLoad): void {
  node.reserved.nanoCpus += load.reserved.nanoCpus;
  node.reserved.memoryBytes += load.reserved.memoryBytes;
  node.taskCount += load.taskCount;
  for (const port of load.hostPorts) node.hostPorts.add(port);
}

/** Accounts a failure of a task of `serviceId` on the node within the last 5 minutes. */
export function addRecentFailure(node: NodeInfo, serviceId: string): void {
  node.recentFailures.set(serviceId, (node.recentFailures.get(serviceId) ?? 0) + 1);
}
