import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { EndpointSpec, ServiceSpec, TaskTemplate, UpdateStatus } from "../../domain/service-spec.js";
import { serviceModes } from "../../domain/service-spec.js";
import { desiredStates, taskStates } from "../../domain/task-states.js";

/** Services: `spec` is the user's; `previousSpec` is kept for rollback. */
export const services = sqliteTable("services", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  version: integer("version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  mode: text("mode", { enum: serviceModes }).notNull(),
  spec: text("spec", { mode: "json" }).$type<ServiceSpec>().notNull(),
  previousSpec: text("previous_spec", { mode: "json" }).$type<ServiceSpec>(),
  /** The last rolling update or rollback; null until the task spec first changes. */
  updateStatus: text("update_status", { mode: "json" }).$type<UpdateStatus>(),
});

/** What a task runs, stored once per distinct content (tasks name it by hash). */
export const taskSpecs = sqliteTable("task_specs", {
  hash: text("hash").primaryKey(),
  spec: text("spec", { mode: "json" }).$type<{ task: TaskTemplate; endpoint: EndpointSpec }>().notNull(),
});

/**
 * Tasks. desiredState and the assignment are the control plane's; state,
 * message, error and exit code are the agent's (observed, forward-only).
 * Reservations and host ports are copied from the spec for the scheduler.
 */
export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    serviceId: text("service_id").notNull(),
    /** Replicated modes; null for global ones. */
    slot: integer("slot"),
    /** Assigned node (global tasks are created for their node). */
    nodeId: text("node_id"),
    specHash: text("spec_hash").notNull(),
    desiredState: text("desired_state", { enum: desiredStates }).notNull(),
    state: text("state", { enum: taskStates }).notNull(),
    stateMessage: text("state_message").notNull().default(""),
    stateChangedAt: integer("state_changed_at").notNull(),
    /** When the task first reported running (healthy, if it has a healthcheck): a rolling update's monitor and delay count from it. */
    startedAt: integer("started_at"),
    error: text("error").notNull().default(""),
    exitCode: integer("exit_code"),
    /** Restarts so far in this slot (or on this node, for global tasks); for the restart policy's max attempts. */
    attempt: integer("attempt").notNull().default(0),
    /** Desired `ready` tasks become `running` at this time (the restart delay). */
    restartAt: integer("restart_at"),
    reserveNanoCpus: integer("reserve_nano_cpus").notNull().default(0),
    reserveMemoryBytes: integer("reserve_memory_bytes").notNull().default(0),
    /** Host-mode published ports, "tcp/8080". */
    hostPorts: text("host_ports", { mode: "json" }).$type<string[]>().notNull(),
  },
  (t) => [index("tasks_service").on(t.serviceId, t.slot), index("tasks_node").on(t.nodeId), index("tasks_state").on(t.state)],
);

/**
 * A service's registry credentials (X-Registry-Auth, docker service create
 * --with-registry-auth), sealed (src/auth/secret-box.ts) and bound to the
 * service id. Kept apart from the service row, which every API answer is
 * made from, so none can carry them; only a task's assignment does.
 */
export const serviceRegistryAuths = sqliteTable("service_registry_auths", {
  serviceId: text("service_id").primaryKey(),
  sealed: text("sealed").notNull(),
});
