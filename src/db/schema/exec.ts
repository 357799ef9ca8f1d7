import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Commands to run in a task's container (shoal exec; Nomad's alloc exec, which
 * Swarm lacks), relayed like service logs: the node's long-poll hands the
 * command to its agent, which claims it (so it runs once), runs it through the
 * engine's exec API and posts its output to log_chunks and its exit here.
 */
export const execSessions = sqliteTable(
  "exec_sessions",
  {
    id: text("id").primaryKey(),
    taskId: text("task_id").notNull(),
    nodeId: text("node_id").notNull(),
    cmd: text("cmd", { mode: "json" }).$type<string[]>().notNull(),
    createdAt: integer("created_at").notNull(),
    /** Past it an unclaimed command is no longer handed out. */
    expiresAt: integer("expires_at").notNull(),
    /** When the agent claimed it. */
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    exitCode: integer("exit_code"),
    error: text("error"),
  },
  (t) => [index("exec_sessions_node").on(t.nodeId)],
);
