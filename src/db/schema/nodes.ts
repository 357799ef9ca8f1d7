import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { nodeAvailabilities, nodeRoles, nodeStates } from "../../domain/node.js";
import type { HostOverlay, NetworkIssue } from "../../domain/network.js";


/**
 * Nodes. Spec fields (role, availability, labels) are the user's; description
 * fields are the agent's (join and heartbeats); status and lease are the
 * control plane's.
 */
export const nodes = sqliteTable(
  "nodes",
  {
    id: text("id").primaryKey(),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    // spec
    role: text("role", { enum: nodeRoles }).notNull(),
    availability: text("availability", { enum: nodeAvailabilities }).notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    // description
    machineId: text("machine_id").notNull(),
    hostname: text("hostname").notNull(),
    os: text("os").notNull(),
    architecture: text("architecture").notNull(),
    nanoCpus: integer("nano_cpus").notNull(),
    memoryBytes: integer("memory_bytes").notNull(),
    engineVersion: text("engine_version").notNull(),
    engineLabels: text("engine_labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    addr: text("addr").notNull(),
    /** What the host can do for overlay networks (MTU, capabilities, WireGuard key); null: it takes no part. */
    overlay: text("overlay", { mode: "json" }).$type<HostOverlay>(),
    /** What the agent last said it could not set up for its networks. */
    networkIssues: text("network_issues", { mode: "json" }).$type<NetworkIssue[]>().notNull().default([]),
    // status
    state: text("state", { enum: nodeStates }).notNull(),
    stateMessage: text("state_message").notNull().default(""),
    lastHeartbeatAt: integer("last_heartbeat_at").notNull(),
    leaseExpiresAt: integer("lease_expires_at").notNull(),
    /** Bumped whenever a task of this node is added, changed or removed: the agent's long-poll compares it. */
    assignmentGeneration: integer("assignment_generation").notNull().default(0),
    /** Bumped on every (re-)join; credentials of an older generation are refused. */
    credentialGeneration: integer("credential_generation").notNull().default(1),
  },
  (t) => [
    uniqueIndex("nodes_machine_id").on(t.machineId),
    index("nodes_state_lease").on(t.state, t.leaseExpiresAt),
  ],
);
