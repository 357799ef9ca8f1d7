import { sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { casGuard } from "./schema/index.js";

/**
 * The compare-and-set convention of every data function (src/db/): a write
 * guarded on what its caller read (a version, a state, an attempt count, a
 * generation) that changed nothing because another writer came first THROWS
 * a CAS failure; it never answers undefined or false for it. A batch puts
 * `requireChanged` after the guarded statement; a lone statement returns its
 * rows through `changedRow`. Callers that can try again wrap the read and the
 * write in `retryOnConflict`; the others catch `isCasFailure` and say what it
 * means to them (a 409 or a 404, or a race lost that needs nothing: another
 * deliverer claimed the delivery, a heartbeat came just in time). Answers that
 * are not a lost race stay answers: "no such row" (deleteWebhook: false) and
 * a full rate window (countHookCall: false).
 */

/** What a lost compare-and-set of a lone statement throws. */
export class CasFailure extends Error {
  constructor(what: string) {
    super(`cas_guard_changed: ${what} changed meanwhile`);
    this.name = "CasFailure";
  }
}

/** The one row a guarded lone statement changed (`.returning()`), or a CasFailure naming `what`. */
export function changedRow<T>(rows: T[], what: string): T {
  const [row] = rows;
  if (row === undefined) throw new CasFailure(what);
  return row;
}

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

/** Like requireChanged, for a guarded UPDATE/DELETE of several rows: aborts unless it changed exactly `count`. */
export const requireCount = (db: Db, count: number) =>
  db
    .insert(casGuard)
    .values({ id: 1, changed: sql`changes() = ${count}` })
    .onConflictDoUpdate({ target: casGuard.id, set: { changed: sql`excluded.changed` } });

function messageChain(err: unknown): string {
  let out = "";
  for (let e: unknown = err; e instanceof Error; e = e.cause) out += ` ${e.message}`;
  return out;
}

/** A guarded write lost its compare-and-set: somebody else wrote first. */
export const isCasFailure = (err: unknown) =>
  err instanceof CasFailure || /cas_guard_changed|CHECK constraint failed: changed/.test(messageChain(err)); // libSQL names the constraint, D1 the column

/** For a caller to whom losing the race is an answer, not an error: whether the guarded write committed. */
export async function won(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isCasFailure(err)) return false;
    throw err;
  }
}

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
