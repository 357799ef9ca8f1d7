import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Open log sessions, one row per (session, node): Swarm's log subscriptions
 * (manager/logbroker), kept in the store so they work where requests share
 * no memory (Workers). A node's assignment long-poll hands it the rows that
 * name it; its agent reads those tasks' containers and posts the lines to
 * log_chunks. The reader (the CLI's request) deletes its rows when it ends;
 * `expiresAt` ends rows a reader left without saying so.
 */
export const logSessions = sqliteTable(
  "log_sessions",
  {
    id: text("id").notNull(),
    nodeId: text("node_id").notNull(),
    createdAt: integer("created_at").notNull(),
    /** Renewed by a following reader; past it the node no longer serves the session. */
    expiresAt: integer("expires_at").notNull(),
    /** The tasks of this session on this node. */
    taskIds: text("task_ids", { mode: "json" }).$type<string[]>().notNull(),
    follow: integer("follow", { mode: "boolean" }).notNull(),
    /** Last lines per task; null: all. */
    tail: integer("tail"),
    /** Lines at or after this time (epoch ms); null: from the start. */
    sinceMs: integer("since_ms"),
    /** Set when the node sent its backlog and, not following, is done. */
    caughtUpAt: integer("caught_up_at"),
  },
  (t) => [primaryKey({ columns: [t.id, t.nodeId] }), index("log_sessions_node").on(t.nodeId)],
);

/** A line as it travels from an agent to the reader. */
export interface LogLineRecord {
  taskId: string;
  stream: "stdout" | "stderr";
  /** RFC 3339 with nanoseconds, as the engine stamped it. */
  time: string;
  text: string;
}

/** Batches of lines an agent posted for a session, read and deleted by the session's reader; old ones expire. */
export const logChunks = sqliteTable(
  "log_chunks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sessionId: text("session_id").notNull(),
    nodeId: text("node_id").notNull(),
    createdAt: integer("created_at").notNull(),
    lines: text("lines", { mode: "json" }).$type<LogLineRecord[]>().notNull(),
    /** The node's backlog ends with this chunk (not following: its last chunk). */
    caughtUp: integer("caught_up", { mode: "boolean" }).notNull(),
  },
  (t) => [index("log_chunks_session").on(t.sessionId, t.id), index("log_chunks_created").on(t.createdAt)],
);
