import { and, inArray, lte, min, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.js";
import { chunks } from "./cas.js";
import { reconcileMarks } from "./schema/index.js";

/**
 * Which services a write makes the orchestrator look at again. Each function
 * returns statements for the writer's own batch, so the mark commits with the
 * change it stands for (and a reconcile that read before it loses its
 * generation guard).
 */

/** Each write of a mark gets a new token; a pass clears a mark only while it holds the token the pass read. */
const newToken = sql`lower(hex(randomblob(8)))`;

/** Marks these services due at `dueAt` (default now); an earlier mark stays. */
export function markServices(db: Db, serviceIds: string[], dueAt = 0) {
  return chunks([...new Set(serviceIds)], 2).map((part) =>
    db
      .insert(reconcileMarks)
      .values(part.map((serviceId) => ({ serviceId, dueAt, token: newToken })))
      .onConflictDoUpdate({
        target: reconcileMarks.serviceId,
        set: { dueAt: sql`min(${reconcileMarks.dueAt}, excluded.due_at)`, token: sql`excluded.token` },
      }),
  );
}

/** Marks the service ids a query selects as due now (SQLite wants the WHERE before an upsert's ON CONFLICT). */
const markSelected = (db: Db, select: SQL) =>
  db
    .insert(reconcileMarks)
    .select(sql`SELECT service_id, 0 AS due_at, ${newToken} AS token FROM (${select}) WHERE service_id IS NOT NULL`)
    .onConflictDoUpdate({ target: reconcileMarks.serviceId, set: { dueAt: 0, token: sql`excluded.token` } });

/**
 * A node changed (joined, went down or up, was drained or relabelled, left):
 * the services with tasks on it, and those a change of the node set can move —
 * global services (one task per node), services with tasks waiting for a node,
 * services that rebalance, and the routing mesh's (every node holds an ingress address).
 */
export const markServicesOfNode = (db: Db, nodeId: string) =>
  markSelected(
    db,
    sql`SELECT service_id FROM tasks WHERE node_id = ${nodeId}
        UNION SELECT service_id FROM tasks WHERE state = 'pending'
        UNION SELECT id FROM services WHERE mode IN ('global', 'global-job') OR json_extract(spec, '$.rebalance') = 1
        UNION SELECT owner FROM ip_allocations WHERE kind = 'vip' AND released_at IS NULL
          AND network_id IN (SELECT id FROM networks WHERE ingress = 1)`,
  );

/** A network appeared or went: every service may attach to it or lose it (rare, so no finer scope). */
export const markAllServices = (db: Db) => markSelected(db, sql`SELECT id AS service_id FROM services`);

/**
 * Agents reported these tasks' states. A task that ended is replaced (restart
 * policy, jobs) or reaped (its service was removed); one that started matters
 * only to a service whose plan waits on its tasks running: a rolling update or
 * rollback in progress, a rebalance, or a service another depends on
 * (depends_on). Others need no pass: the report alone is the whole change,
 * which keeps a converging fleet's reports from each costing a reconcile.
 */
export function markReportedServices(db: Db, serviceIds: string[], anyEnded: boolean) {
  if (anyEnded) return markServices(db, serviceIds);
  return chunks([...new Set(serviceIds)], 1).map((part) =>
    markSelected(
      db,
      sql`SELECT id AS service_id FROM services WHERE id IN (${sql.join(part.map((id) => sql`${id}`), sql`, `)})
            AND (json_extract(update_status, '$.state') IN ('updating', 'rollback_started')
              OR json_extract(spec, '$.rebalance') = 1
              OR EXISTS (SELECT 1 FROM services d WHERE json_array_length(json_extract(d.spec, '$.dependsOn')) > 0))`,
    ),
  );
}

export type Mark = typeof reconcileMarks.$inferSelect;

/** The services due by `now`, with the mark each was read at (so a pass clears only what it saw). */
export async function dueMarks(db: Db, now: number): Promise<Mark[]> {
  return db.select().from(reconcileMarks).where(lte(reconcileMarks.dueAt, now));
}

/** Whether any service is due: one indexed read, what every request pays when nothing changed. */
export async function anyDue(db: Db, now: number): Promise<boolean> {
  const [row] = await db.select({ at: min(reconcileMarks.dueAt) }).from(reconcileMarks);
  return row?.at !== null && row?.at !== undefined && row.at <= now;
}

/**
 * Clears the marks a pass read. A mark written since (a later write, such as a
 * status report, which does not move the cluster generation) has a new token and stays.
 */
export function clearMarks(db: Db, marks: Mark[]) {
  return chunks(marks, 2).map((part) =>
    db
      .delete(reconcileMarks)
      .where(and(inArray(reconcileMarks.serviceId, part.map((m) => m.serviceId)), inArray(reconcileMarks.token, part.map((m) => m.token)))),
  );
}
