import { asc, eq } from "drizzle-orm";
import type { StackResource } from "../domain/stack.js";
import type { Db } from "./client.js";
import { insertEvent } from "./events.js";
import { stackResources } from "./schema/index.js";

type StackResourceRow = typeof stackResources.$inferSelect;

export async function listStackResources(db: Db, stack?: string): Promise<StackResourceRow[]> {
  return db
    .select()
    .from(stackResources)
    .where(stack === undefined ? undefined : eq(stackResources.stack, stack))
    .orderBy(asc(stackResources.stack), asc(stackResources.kind), asc(stackResources.name));
}

/**
 * Replaces what a stack's files declare with what the latest deploy's declare,
 * in one batch with the `stack deploy` event (`summary`: what the deploy did).
 */
export async function replaceStackResources(db: Db, stack: string, resources: StackResource[], now: number, summary: Record<string, string>): Promise<void> {
  const rows = resources.map((r) => ({ stack, kind: r.kind, name: r.name, key: r.key, external: r.external, definition: r.definition, updatedAt: now }));
  // D1 binds at most 100 parameters per statement: 7 columns a row.
  const inserts = [];
  for (let i = 0; i < rows.length; i += 14) inserts.push(db.insert(stackResources).values(rows.slice(i, i + 14)));
  await db.batch([db.delete(stackResources).where(eq(stackResources.stack, stack)), ...inserts, insertEvent(db, now, "stack", "deploy", stack, summary)]);
}

export async function deleteStackResources(db: Db, stack: string, now: number): Promise<void> {
  await db.batch([db.delete(stackResources).where(eq(stackResources.stack, stack)), insertEvent(db, now, "stack", "remove", stack, {})]);
}
