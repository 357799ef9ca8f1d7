import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { sql } from "drizzle-orm";

import { schedulingStrategies } from "../../domain/service-spec.js";

/**
 * The one cluster this database holds. Settings are the user's (`PATCH /v1/swarm`);
 * join generations, node count and the liveness grace are the control plane's.
 */
export const cluster = sqliteTable("cluster", {
  id: text("id").primaryKey(),
  version: integer("version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  heartbeatPeriodMs: integer("heartbeat_period_ms").notNull(),
  missedHeartbeats: integer("missed_heartbeats").notNull(),
  maxHeartbeatsPerSecond: integer("max_heartbeats_per_second").notNull(),
  taskHistoryLimit: integer("task_history_limit").notNull(),
  defaultStrategy: text("default_strategy", { enum: schedulingStrategies }).notNull(),
  /** Bumped by a rotation; join tokens of an older generation are refused. */
  workerJoinGeneration: integer("worker_join_generation").notNull().default(1),
  managerJoinGeneration: integer("manager_join_generation").notNull().default(1),
  nodeCount: integer("node_count").notNull().default(0),
  /**
   * Bumped by every change the orchestrator must react to (specs, nodes, task
   * states). Reconcile writes are guarded on it: a plan made from an older
   * read loses and is made again.
   */
  generation: integer("generation").notNull().default(1),
  /** Bumped by every network create and remove: creates are guarded on it, so two never take overlapping subnets. */
  networkGeneration: integer("network_generation").notNull().default(0),
  /** No node is marked down before this: set when a control plane starts, as agents could not call in while it was away. */
  livenessGraceUntil: integer("liveness_grace_until").notNull(),
});

/**
 * The services the orchestrator must look at again, and from when: every write
 * that changes what a service's plan depends on marks it (due now) in the same
 * batch, and a plan that waits on a timer (a restart delay, an update delay, a
 * monitor window) marks its service due then. Reconcile reads only the due
 * services, so its cost follows the change, not the cluster's size.
 */
export const reconcileMarks = sqliteTable(
  "reconcile_marks",
  {
    serviceId: text("service_id").primaryKey(),
    dueAt: integer("due_at").notNull(),
    /** New on every write of the mark, so a pass clears only the mark it read. */
    token: text("token").notNull().default(""),
  },
  (t) => [index("reconcile_marks_due").on(t.dueAt)],
);

/**
 * Compare-and-set guard for atomic batches without interactive transactions:
 * a batch follows each guarded UPDATE with an upsert of `changes()` here, so an
 * UPDATE that matched nothing violates the CHECK and rolls the whole batch back.
 */
export const casGuard = sqliteTable(
  "cas_guard",
  {
    id: integer("id").primaryKey(),
    changed: integer("changed").notNull(),
  },
  (t) => [check("cas_guard_changed", sql`${t.changed} > 0`)],
);
