import { and, asc, gt, gte, inArray, lte, max } from "drizzle-orm";
import type { Db } from "./client.js";
import { events, type EventType } from "./schema/index.js";

/** Event insert to put in the same batch as the change it records. */
export const insertEvent = (
  db: Db,
  time: number,
  type: EventType,
  action: string,
  actorId: string,
  attributes: Record<string, string> = {},
) => db.insert(events).values({ time, type, action, actorId, attributes });

export interface EventRange {
  /** Only events with a greater id (a cursor, or an SSE Last-Event-ID). */
  afterId?: number;
  sinceMs?: number;
  untilMs?: number;
  types?: EventType[];
}

/** Events in id (= commit) order within a range, served by the primary key and the time index. */
export async function listEvents(db: Db, range: EventRange, limit: number): Promise<(typeof events.$inferSelect)[]> {
  return db
    .select()
    .from(events)
    .where(
      and(
        range.afterId !== undefined ? gt(events.id, range.afterId) : undefined,
        range.sinceMs !== undefined ? gte(events.time, range.sinceMs) : undefined,
        range.untilMs !== undefined ? lte(events.time, range.untilMs) : undefined,
        range.types?.length ? inArray(events.type, range.types) : undefined,
      ),
    )
    .orderBy(asc(events.id))
    .limit(limit);
}

/** The newest event's id (0 when there is none): where a live-only stream starts. */
export async function maxEventId(db: Db): Promise<number> {
  const [row] = await db.select({ id: max(events.id) }).from(events);
  return row?.id ?? 0;
}
