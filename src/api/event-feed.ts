import type { Db } from "../db/client.js";
import { listEvents, type EventRange } from "../db/events.js";
import type { EventRow } from "../events/event-filter.js";

/** A stream re-reads the store this often; writes from any instance show up within it. */
const pollMs = 500;
const pageSize = 500;

export interface Feed {
  readonly aborted: boolean;
  sleep(ms: number): Promise<unknown>;
}

/**
 * Follows the event store from `cursor` until `endAt` (epoch ms) or the client leaves,
 * handing each event in `range` to `emit` in commit order; `idle` runs between polls.
 * The one polling loop behind every event stream, so it works the same on Node and
 * Workers (no in-process wake-up). Returns the last event id looked at.
 */
export async function followEvents(
  db: Db,
  range: EventRange,
  cursor: number,
  endAt: number,
  feed: Feed,
  emit: (e: EventRow) => Promise<void>,
  idle?: () => Promise<void>,
): Promise<number> {
  for (;;) {
    const page = await listEvents(db, { ...range, afterId: cursor }, pageSize);
    for (const e of page) {
      cursor = e.id;
      await emit(e);
    }
    if (page.length === pageSize) continue;
    if (feed.aborted || Date.now() >= endAt) return cursor;
    await idle?.();
    await feed.sleep(Math.min(pollMs, Math.max(0, endAt - Date.now())));
  }
}
