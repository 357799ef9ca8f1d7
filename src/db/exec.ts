import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { changedRow } from "./cas.js";
import type { Db } from "./client.js";
import { insertEvent } from "./events.js";
import { execSessions, logChunks } from "./schema/index.js";

export type ExecSessionRow = typeof execSessions.$inferSelect;

/** Opens an exec session and records who runs what where (`task.exec`), in one write. */
export async function insertExecSession(db: Db, row: ExecSessionRow, attributes: Record<string, string>): Promise<void> {
  await db.batch([db.insert(execSessions).values(row), insertEvent(db, row.createdAt, "task", "exec", row.taskId, attributes)]);
}

/** The commands `nodeId` is to start: unclaimed and unexpired. */
export async function listNodeExecSessions(db: Db, nodeId: string, now: number): Promise<ExecSessionRow[]> {
  return db
    .select()
    .from(execSessions)
    .where(and(eq(execSessions.nodeId, nodeId), isNull(execSessions.startedAt), gt(execSessions.expiresAt, now)))
    .orderBy(asc(execSessions.id));
}

export async function getExecSession(db: Db, id: string): Promise<ExecSessionRow | undefined> {
  const [row] = await db.select().from(execSessions).where(eq(execSessions.id, id));
  return row;
}

/** The agent takes the command: only the first claim succeeds (a later one is a CAS failure), so a command runs once. */
export async function claimExecSession(db: Db, id: string, nodeId: string, now: number): Promise<void> {
  const claimed = await db
    .update(execSessions)
    .set({ startedAt: now })
    .where(and(eq(execSessions.id, id), eq(execSessions.nodeId, nodeId), isNull(execSessions.startedAt), gt(execSessions.expiresAt, now)))
    .returning({ id: execSessions.id });
  changedRow(claimed, `exec session ${id}`);
}

/** Records how the command ended. */
export async function endExecSession(db: Db, id: string, exitCode: number | null, error: string | null, now: number): Promise<void> {
  await db.update(execSessions).set({ endedAt: now, exitCode, error }).where(eq(execSessions.id, id));
}

/** The reader is done: the session's row and unread output go (the event stays). */
export async function deleteExecSession(db: Db, id: string): Promise<void> {
  await db.batch([db.delete(execSessions).where(eq(execSessions.id, id)), db.delete(logChunks).where(eq(logChunks.sessionId, id))]);
}
