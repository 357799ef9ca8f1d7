import type { Resources } from "./service-spec.js";

export const nodeRoles = ["worker", "manager"] as const;
export type NodeRole = (typeof nodeRoles)[number];
export const nodeAvailabilities = ["active", "pause", "drain"] as const;
export type NodeAvailability = (typeof nodeAvailabilities)[number];
export const nodeStates = ["unknown", "down", "ready", "disconnected"] as const;
export type NodeState = (typeof nodeStates)[number];

/** What the active tasks of services outside a reconcile pass hold on a node, summed. */
export interface NodeLoad {
  taskCount: number;
  /** CPUs in nano-CPUs and memory in bytes, as in the service spec. */
  reserved: Resources["reservations"];
  hostPorts: readonly string[];
}
