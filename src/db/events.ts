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
