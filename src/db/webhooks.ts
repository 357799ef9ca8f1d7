import { and, asc, desc, eq, inArray, lte, min, sql } from "drizzle-orm";
import type { DeliveryOutcome, AttemptResult } from "../domain/webhook-delivery.js";
import { changedRow, chunks, requireChanged } from "./cas.js";
import type { Db } from "./client.js";
import { events, webhookDeliveries, webhooks, type DeliveryState } from "./schema/index.js";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export async function listWebhooks(db: Db): Promise<WebhookRow[]> {
  return db.select().from(webhooks).orderBy(asc(webhooks.createdAt), asc(webhooks.id));
}

export async function getWebhook(db: Db, id: string): Promise<WebhookRow | undefined> {
  return db.query.webhooks.findFirst({ where: eq(webhooks.id, id) });
}

/** A new subscription starts after the newest event: it gets what happens from now on, not the history. */
export async function insertWebhook(db: Db, row: Omit<WebhookRow, "cursor">): Promise<WebhookRow> {
  const [inserted] = await db
    .insert(webhooks)
    .values({ ...row, cursor: sql`(SELECT coalesce(max(${events.id}), 0) FROM ${events})` })
    .returning();
  return inserted!;
}

export type WebhookChange = Partial<Pick<WebhookRow, "name" | "url" | "events" | "allowPrivate" | "secretSealed" | "state" | "disabledReason">>;

/** Compare-and-set on the version; a CAS failure when it was stale or the subscription is gone. */
export async function updateWebhook(db: Db, id: string, version: number, change: WebhookChange, now: number): Promise<WebhookRow> {
  const updated = await db
    .update(webhooks)
    .set({ ...change, version: version + 1, updatedAt: now })
    .where(and(eq(webhooks.id, id), eq(webhooks.version, version)))
    .returning();
  return changedRow(updated, `webhook ${id}`);
}

/** Deletes a subscription and its delivery log. */
export async function deleteWebhook(db: Db, id: string): Promise<boolean> {
  const [deleted] = await db.batch([
    db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id }),
    db.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id)),
  ]);
  return deleted.length > 0;
}

/**
 * Queues deliveries and moves the cursors of `webhookIds` to `cursor`, at
 * once. A (subscription, event) pair is queued once: a concurrent fan-out of
 * the same events inserts nothing more, and cursors never move back.
 */
export async function insertDeliveries(db: Db, deliveries: DeliveryRow[], webhookIds: string[], cursor: number): Promise<void> {
  const statements = [];
  for (const part of chunks(deliveries, Object.keys(deliveries[0] ?? {}).length || 1))
    statements.push(db.insert(webhookDeliveries).values(part).onConflictDoNothing());
  for (const part of chunks(webhookIds, 1))
    statements.push(db.update(webhooks).set({ cursor: sql`max(${webhooks.cursor}, ${cursor})` }).where(inArray(webhooks.id, part)));
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/** Pending deliveries of active subscriptions whose time has come, oldest first (the `state, next_attempt_at` index). */
export async function listDueDeliveries(db: Db, now: number, limit: number): Promise<{ delivery: DeliveryRow; webhook: WebhookRow }[]> {
  return db
    .select({ delivery: webhookDeliveries, webhook: webhooks })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(and(eq(webhookDeliveries.state, "pending"), lte(webhookDeliveries.nextAttemptAt, now), eq(webhooks.state, "active")))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
}

/** When the next pending delivery of an active subscription is due (as listDueDeliveries picks them); null when none is. */
export async function nextDeliveryDueAt(db: Db): Promise<number | null> {
  const [row] = await db
    .select({ at: min(webhookDeliveries.nextAttemptAt) })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(and(eq(webhookDeliveries.state, "pending"), eq(webhooks.state, "active")));
  return row?.at ?? null;
}

/**
 * Claims a due delivery for one attempt: counts the attempt and pushes its
 * due time to `claimUntil`, so no other deliverer sends it meanwhile. If this
 * one dies mid-attempt, the delivery is due again once the claim lapses.
 * A CAS failure when another deliverer claimed it first.
 */
export async function claimDelivery(db: Db, d: DeliveryRow, now: number, claimUntil: number): Promise<DeliveryRow> {
  const claimed = await db
    .update(webhookDeliveries)
    .set({ attempts: d.attempts + 1, nextAttemptAt: claimUntil, lastAttemptAt: now })
    .where(
      and(
        eq(webhookDeliveries.id, d.id),
        eq(webhookDeliveries.attempts, d.attempts),
        eq(webhookDeliveries.state, "pending"),
        lte(webhookDeliveries.nextAttemptAt, now),
      ),
    )
    .returning();
  return changedRow(claimed, `delivery ${d.id}`);
}

/**
 * Records a claimed attempt's result, guarded on the claim (a CAS failure when
 * it lapsed and another deliverer claimed the delivery), and disables the
 * subscription when the outcome says so.
 */
export async function recordDeliveryAttempt(
  db: Db,
  claimed: DeliveryRow,
  outcome: DeliveryOutcome,
  result: AttemptResult,
  now: number,
): Promise<void> {
  const record = db
    .update(webhookDeliveries)
    .set({
      state: outcome.state,
      nextAttemptAt: outcome.state === "pending" ? outcome.nextAttemptAt : now,
      lastStatus: result.status ?? null,
      lastError: result.error ?? "",
    })
    .where(and(eq(webhookDeliveries.id, claimed.id), eq(webhookDeliveries.attempts, claimed.attempts)));
  await db.batch([
    record,
    requireChanged(db),
    ...(outcome.state === "failed" && outcome.disableWebhook
      ? [
          db
            .update(webhooks)
            .set({ state: "disabled", disabledReason: outcome.disableWebhook, version: sql`${webhooks.version} + 1`, updatedAt: now })
            .where(and(eq(webhooks.id, claimed.webhookId), eq(webhooks.state, "active"))),
        ]
      : []),
  ]);
}

/** A subscription's delivery log, newest first. */
export async function listDeliveries(db: Db, webhookId: string, states: DeliveryState[], limit: number): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, webhookId), states.length ? inArray(webhookDeliveries.state, states) : undefined))
    .orderBy(desc(webhookDeliveries.eventId))
    .limit(limit);
}
