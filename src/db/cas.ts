import { sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { casGuard } from "./schema/index.js";

/**
 * Batch statement that aborts the whole batch when the statement before it
 * changed no row (see the `cas_guard` table). Put it right after every guarded
 * UPDATE/DELETE of a `db.batch`.
 */
export const requireChanged = (db: Db) =>
  db
    .insert(casGuard)
    .values({ id: 1, changed: sql`changes()` })
    .onConflictDoUpdate({ target: casGuard.id, set: { changed: sql`excluded.changed` } });

function messageChain(err: unknown): string {
  let out = "";
  for (let e: unknown = err; e instanceof Error; e = e.cause) out += ` ${e.message}`;
  return out;
}

/** A guarded batch lost its compare-and-set: somebody else wrote first. */
export const isCasFailure = (err: unknown) =>
  /cas_guard_changed|CHECK constraint failed: changed/.test(messageChain(err)); // libSQL names the constraint, D1 the column

export const isUniqueViolation = (err: unknown) => messageChain(err).includes("UNIQUE constraint failed");

/**
 * Runs `attempt` (read a snapshot, plan, write one guarded batch) until it
 * commits. A losing writer re-reads and tries again; the loop is bounded.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= attempts || !(isCasFailure(err) || isUniqueViolation(err))) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * i));
    }
  }
}

/** D1 binds at most 100 parameters per statement; every driver gets statements that size. */
const maxParams = 100;
export function chunks<T>(rows: T[], paramsPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(maxParams / paramsPerRow));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
