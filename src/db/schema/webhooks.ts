import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const webhookStates = ["active", "disabled"] as const;
export const deliveryStates = ["pending", "succeeded", "failed"] as const;
export type DeliveryState = (typeof deliveryStates)[number];

/**
 * Outbound webhook subscriptions (the user's, except state, disabledReason and
 * cursor, which the deliverer writes). The signing secret is stored encrypted.
 */
export const webhooks = sqliteTable("webhooks", {
  id: text("id").primaryKey(),
  version: integer("version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  name: text("name").notNull(),
  url: text("url").notNull(),
  /** Event name patterns (`task.failed`, `service.update.*`); empty: every event. */
  events: text("events", { mode: "json" }).$type<string[]>().notNull(),
  /** Delivery to loopback, private and link-local addresses is refused unless set. */
  allowPrivate: integer("allow_private", { mode: "boolean" }).notNull().default(false),
  /** AES-GCM under a key derived from the cluster key: `iv.ciphertext`, base64url. */
  secretSealed: text("secret_sealed").notNull(),
  state: text("state", { enum: webhookStates }).notNull().default("active"),
  disabledReason: text("disabled_reason").notNull().default(""),
  /** The last event id fanned out to this subscription: later events are its to consider. */
  cursor: integer("cursor").notNull(),
});

/**
 * The outbox: one row per (subscription, event) to send, written by the
 * fan-out and updated after every attempt. The row id is the `webhook-id`.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id").notNull(),
    eventId: integer("event_id").notNull(),
    eventName: text("event_name").notNull(),
    /** The body sent on every attempt (signatures cover it with each attempt's timestamp). */
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
    state: text("state", { enum: deliveryStates }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** When the next attempt is due; while an attempt is in flight, when its claim lapses. */
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastAttemptAt: integer("last_attempt_at"),
    /** The HTTP status of the last attempt; null when it got no answer. */
    lastStatus: integer("last_status"),
    lastError: text("last_error").notNull().default(""),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event").on(t.webhookId, t.eventId),
    index("webhook_deliveries_due").on(t.state, t.nextAttemptAt),
  ],
);
