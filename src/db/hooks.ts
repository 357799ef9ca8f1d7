import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { serviceHooks } from "./schema/index.js";

export type ServiceHookRow = typeof serviceHooks.$inferSelect;

export async function insertServiceHook(db: Db, row: ServiceHookRow): Promise<void> {
  await db.insert(serviceHooks).values(row);
}

export async function listServiceHooks(db: Db, serviceId: string): Promise<ServiceHookRow[]> {
  return db.select().from(serviceHooks).where(eq(serviceHooks.serviceId, serviceId)).orderBy(asc(serviceHooks.createdAt), asc(serviceHooks.id));
}

export async function getServiceHookByTokenHash(db: Db, tokenHash: string): Promise<ServiceHookRow | undefined> {
  return db.query.serviceHooks.findFirst({ where: eq(serviceHooks.tokenHash, tokenHash) });
}

/** Returns false when the service has no such hook. */
export async function deleteServiceHook(db: Db, serviceId: string, id: string): Promise<boolean> {
  const deleted = await db
    .delete(serviceHooks)
    .where(and(eq(serviceHooks.id, id), eq(serviceHooks.serviceId, serviceId)))
    .returning({ id: serviceHooks.id });
  return deleted.length > 0;
}

/** The statement removing a service's hooks, for the batch that removes the service. */
export const deleteServiceHooksOf = (db: Db, serviceId: string) => db.delete(serviceHooks).where(eq(serviceHooks.serviceId, serviceId));

/**
 * Counts one call in the hook's fixed window (`windowMs` long, at most `limit`
 * calls), in one statement so that concurrent callers on any instance count
 * right. Returns false when the window is full.
 */
export async function countHookCall(db: Db, id: string, now: number, windowMs: number, limit: number): Promise<boolean> {
  const expired = sql`${serviceHooks.windowStart} <= ${now - windowMs}`;
  const counted = await db
    .update(serviceHooks)
    .set({
      windowStart: sql`CASE WHEN ${expired} THEN ${now} ELSE ${serviceHooks.windowStart} END`,
      windowCount: sql`CASE WHEN ${expired} THEN 1 ELSE ${serviceHooks.windowCount} + 1 END`,
    })
    .where(and(eq(serviceHooks.id, id), sql`(${expired} OR ${serviceHooks.windowCount} < ${limit})`))
    .returning({ id: serviceHooks.id });
  return counted.length > 0;
}

/** The statement stamping a hook's last trigger, for the batch that redeploys its service. */
export const markHookTriggered = (db: Db, id: string, now: number) =>
  db.update(serviceHooks).set({ lastTriggeredAt: now }).where(eq(serviceHooks.id, id));
