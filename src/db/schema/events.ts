import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const eventTypes = ["node", "service", "task", "stack", "network", "secret", "config"] as const;
export type EventType = (typeof eventTypes)[number];

/** Append-only record of state changes, written in the same batch as the change. */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    time: integer("time").notNull(),
    type: text("type", { enum: eventTypes }).notNull(),
    action: text("action").notNull(),
    actorId: text("actor_id").notNull(),
    attributes: text("attributes", { mode: "json" }).$type<Record<string, string>>().notNull(),
  },
  (t) => [index("events_time").on(t.time)],
);
