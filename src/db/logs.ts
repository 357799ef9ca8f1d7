import { and, asc, eq, gt, isNull, lt, lte, or } from "drizzle-orm";
import type { Db } from "./client.js";
import { logChunks, logSessions, type LogLineRecord } from "./schema/index.js";

export type LogSessionRow = typeof logSessions.$inferSelect;
export type LogChunkRow = typeof logChunks.$inferSelect;

/** The notifier key a session's reader waits on: an agent's batch wakes it (Node; Workers re-read the table). */
export const logSessionKey = (sessionId: string) => `logs:${sessionId}`;

/** Opens a log session: one row per node it needs; expired sessions and chunks older than `chunkTtlMs` go in the same write. */
export async function insertLogSession(db: Db, rows: LogSessionRow[], now: number, chunkTtlMs: number): Promise<void> {
  await db.batch([
    db.delete(logSessions).where(lt(logSessions.expiresAt, now)),
    db.delete(logChunks).where(lt(logChunks.createdAt, now - chunkTtlMs)),
    ...rows.map((r) => db.insert(logSessions).values(r)),
  ]);
}

/**
 * A following reader picked up tasks placed after it started (a scale-up, a task
 * replaced): the node's row gets the session's whole task list on that node, or is
 * added for a node that had none, and the lease with it. Only the reader writes
 * `taskIds`; the agent sees the longer list in its next poll.
 */
export async function upsertLogSessionNode(db: Db, row: LogSessionRow): Promise<void> {
  await db
    .insert(logSessions)
    .values(row)
    .onConflictDoUpdate({ target: [logSessions.id, logSessions.nodeId], set: { taskIds: row.taskIds, expiresAt: row.expiresAt } });
}

/** The sessions `nodeId` serves at `now`: unexpired, and following or not yet caught up. Ordered by id. */
export async function listNodeLogSessions(db: Db, nodeId: string, now: number): Promise<LogSessionRow[]> {
  return db
    .select()
    .from(logSessions)
    .where(and(eq(logSessions.nodeId, nodeId), gt(logSessions.expiresAt, now), or(eq(logSessions.follow, true), isNull(logSessions.caughtUpAt))))
    .orderBy(asc(logSessions.id));
}

export async function getLogSession(db: Db, id: string, nodeId: string): Promise<LogSessionRow | undefined> {
  const [row] = await db.select().from(logSessions).where(and(eq(logSessions.id, id), eq(logSessions.nodeId, nodeId)));
  return row;
}

/** Stores a batch a node posted; a caught-up batch also marks the node's row. */
export async function insertLogChunk(db: Db, sessionId: string, nodeId: string, lines: LogLineRecord[], caughtUp: boolean, now: number): Promise<void> {
  const insert = db.insert(logChunks).values({ sessionId, nodeId, createdAt: now, lines, caughtUp });
  if (!caughtUp) {
    await insert;
    return;
  }
  await db.batch([
    insert,
    db.update(logSessions).set({ caughtUpAt: now }).where(and(eq(logSessions.id, sessionId), eq(logSessions.nodeId, nodeId))),
  ]);
}

/** A session's chunks after `afterId`, oldest first. */
export async function listLogChunks(db: Db, sessionId: string, afterId: number, limit: number): Promise<LogChunkRow[]> {
  return db
    .select()
    .from(logChunks)
    .where(and(eq(logChunks.sessionId, sessionId), gt(logChunks.id, afterId)))
    .orderBy(asc(logChunks.id))
    .limit(limit);
}

/** Drops the chunks the reader has read (up to `upToId`). */
export async function deleteLogChunks(db: Db, sessionId: string, upToId: number): Promise<void> {
  await db.delete(logChunks).where(and(eq(logChunks.sessionId, sessionId), lte(logChunks.id, upToId)));
}

/** A following reader is still there: its nodes keep serving the session until `expiresAt`. */
export async function renewLogSession(db: Db, id: string, expiresAt: number): Promise<void> {
  await db.update(logSessions).set({ expiresAt }).where(eq(logSessions.id, id));
}

/** Ends a session: its rows and unread chunks go. */
export async function deleteLogSession(db: Db, id: string): Promise<void> {
  await db.batch([db.delete(logSessions).where(eq(logSessions.id, id)), db.delete(logChunks).where(eq(logChunks.sessionId, id))]);
}
