export const nodeRoles = ["worker", "manager"] as const;
export type NodeRole = (typeof nodeRoles)[number];
export const nodeAvailabilities = ["active", "pause", "drain"] as const;
export type NodeAvailability = (typeof nodeAvailabilities)[number];
export const nodeStates = ["unknown", "down", "ready", "disconnected"] as const;
export type NodeState = (typeof nodeStates)[number];
