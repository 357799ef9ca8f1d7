import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const hookActions = ["redeploy"] as const;

/**
 * Inbound webhook triggers: each names one service and one action. Only the
 * SHA-256 of its token is stored; the token itself is shown once, at creation.
 * The window columns are a fixed-window rate limit kept in the store, so that
 * every instance (Node or Worker isolate) counts the same calls.
 */
export const serviceHooks = sqliteTable(
  "service_hooks",
  {
    id: text("id").primaryKey(),
    serviceId: text("service_id").notNull(),
    name: text("name").notNull(),
    action: text("action", { enum: hookActions }).notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: integer("created_at").notNull(),
    lastTriggeredAt: integer("last_triggered_at"),
    windowStart: integer("window_start").notNull().default(0),
    windowCount: integer("window_count").notNull().default(0),
  },
  (t) => [index("service_hooks_service").on(t.serviceId)],
);
