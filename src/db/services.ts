import { and, asc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { manualRollbackStatus, statusAfterOtherWrite, statusAfterUpdate } from "../domain/update-status.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import type { Db } from "./client.js";
import { chunks, requireChanged } from "./cas.js";
import { bumpGeneration } from "./cluster.js";
import { markServices } from "./reconcile-marks.js";
import { insertEvent } from "./events.js";
import { deleteServiceHooksOf } from "./hooks.js";
import { putServiceRegistryAuth } from "./registry-auths.js";
import { services, tasks } from "./schema/index.js";

export type ServiceRow = typeof services.$inferSelect;

export async function listServices(db: Db): Promise<ServiceRow[]> {
  return db.select().from(services).orderBy(asc(services.name));
}

/** A service by its id, exactly. */
export async function getService(db: Db, id: string): Promise<ServiceRow | undefined> {
  const [row] = await db.select().from(services).where(eq(services.id, id));
  return row;
}

/** A service by what a user typed: the full id, else the name, else an id prefix (more than one = ambiguous). */
export async function findServicesByRef(db: Db, ref: string): Promise<ServiceRow[]> {
  const byId = await db.select().from(services).where(eq(services.id, ref));
  if (byId.length) return byId;
  const byName = await db.select().from(services).where(eq(services.name, ref));
  if (byName.length) return byName;
  return db
    .select()
    .from(services)
    .where(and(gte(services.id, ref), lt(services.id, `${ref}\uffff`)))
    .limit(2);
}

/** Services by id (those that exist), and by name, for a reconcile pass's scope. */
export async function getServicesByIds(db: Db, ids: string[]): Promise<ServiceRow[]> {
  const parts = await Promise.all(chunks(ids, 1).map((part) => db.select().from(services).where(inArray(services.id, part))));
  return parts.flat();
}

export async function getServicesByNames(db: Db, names: string[]): Promise<ServiceRow[]> {
  const parts = await Promise.all(chunks(names, 1).map((part) => db.select().from(services).where(inArray(services.name, part))));
  return parts.flat();
}

/** Services whose depends_on names one of these. */
export async function getServicesDependingOn(db: Db, names: string[]): Promise<ServiceRow[]> {
  const parts = await Promise.all(
    chunks(names, 1).map((part) =>
      db
        .select()
        .from(services)
        .where(sql`EXISTS (SELECT 1 FROM json_each(${services.spec}, '$.dependsOn') WHERE value IN (${sql.join(part.map((n) => sql`${n}`), sql`, `)}))`),
    ),
  );
  return parts.flat();
}

/** Creates a service; a taken name fails on the unique index. `also`: statements to commit with it (its registry credentials). */
export async function insertService(db: Db, clusterId: string, row: ServiceRow, also: BatchItem<"sqlite">[] = []): Promise<void> {
  await db.batch([
    db.insert(services).values(row),
    ...also,
    bumpGeneration(db, clusterId),
    ...markServices(db, [row.id]),
    insertEvent(db, row.createdAt, "service", "create", row.id, { name: row.name }),
  ]);
}

/**
 * Replaces a service's spec if it is still at `current.version`; the old spec is kept
 * for rollback. A change to what the tasks run starts a rolling update. `also`:
 * statements to commit with it (e.g. what triggered the update).
 */
export async function updateServiceSpec(
  db: Db,
  clusterId: string,
  current: ServiceRow,
  spec: ServiceSpec,
  now: number,
  also: BatchItem<"sqlite">[] = [],
): Promise<ServiceRow> {
  const updateStatus = statusAfterUpdate(current.spec, spec, current.updateStatus, now);
  return replaceSpec(db, clusterId, current, { spec, previousSpec: current.spec, updateStatus }, now, "update", also);
}

/** docker service rollback: back to the previous spec (which keeps this one as its previous), rolled out with rollback_config. */
export async function rollbackService(
  db: Db,
  clusterId: string,
  current: ServiceRow,
  previousSpec: ServiceSpec,
  now: number,
  also: BatchItem<"sqlite">[] = [],
): Promise<ServiceRow> {
  const set = { spec: previousSpec, previousSpec: current.spec, updateStatus: manualRollbackStatus(now) };
  return replaceSpec(db, clusterId, current, set, now, "rollback", also);
}

async function replaceSpec(
  db: Db,
  clusterId: string,
  current: ServiceRow,
  set: Pick<ServiceRow, "spec" | "previousSpec" | "updateStatus">,
  now: number,
  action: string,
  also: BatchItem<"sqlite">[] = [],
): Promise<ServiceRow> {
  const [updated] = await db.batch([
    db
      .update(services)
      .set({ ...set, version: current.version + 1, updatedAt: now })
      .where(and(eq(services.id, current.id), eq(services.version, current.version)))
      .returning(),
    requireChanged(db),
    bumpGeneration(db, clusterId),
    ...markServices(db, [current.id]),
    insertEvent(db, now, "service", action, current.id, { name: current.name }),
    ...also,
  ]);
  return updated[0]!;
}

/** Sets the replicas of several services at once, all or none, each guarded on the version read. */
export async function scaleServices(
  db: Db,
  clusterId: string,
  changes: { service: ServiceRow; replicas: number }[],
  now: number,
): Promise<void> {
  const statements = changes.flatMap(({ service, replicas }) => [
    db
      .update(services)
      .set({
        spec: { ...service.spec, replicas },
        previousSpec: service.spec,
        updateStatus: statusAfterOtherWrite(service.updateStatus),
        version: service.version + 1,
        updatedAt: now,
      })
      .where(and(eq(services.id, service.id), eq(services.version, service.version))),
    requireChanged(db),
    insertEvent(db, now, "service", "update", service.id, { name: service.name, replicas: String(replicas) }),
  ]);
  await db.batch([bumpGeneration(db, clusterId), ...markServices(db, changes.map((c) => c.service.id)), ...statements]);
}

/** Removes a service, its webhooks and its registry credentials; the orchestrator then removes its tasks. */
export async function deleteService(db: Db, clusterId: string, service: ServiceRow, now: number): Promise<void> {
  await db.batch([
    db.delete(services).where(eq(services.id, service.id)),
    requireChanged(db),
    deleteServiceHooksOf(db, service.id),
    putServiceRegistryAuth(db, service.id, null),
    bumpGeneration(db, clusterId),
    ...markServices(db, [service.id]),
    insertEvent(db, now, "service", "remove", service.id, { name: service.name }),
  ]);
}

export interface ServiceTaskCounts {
  running: number;
  desired: number;
  completed: number;
}

/** Per service (all, or those named): tasks running, desired up, completed (docker service ls REPLICAS). */
export async function countServiceTasks(db: Db, serviceIds?: string[]): Promise<Map<string, ServiceTaskCounts>> {
  const rows = await db
    .select({
      serviceId: tasks.serviceId,
      running: sql<number>`sum(${tasks.state} = 'running' AND ${tasks.desiredState} = 'running')`,
      desired: sql<number>`sum(${tasks.desiredState} IN ('ready', 'running'))`,
      completed: sql<number>`sum(${tasks.state} = 'complete')`,
    })
    .from(tasks)
    .where(serviceIds ? inArray(tasks.serviceId, serviceIds) : undefined)
    .groupBy(tasks.serviceId);
  return new Map(rows.map((r) => [r.serviceId, { running: Number(r.running), desired: Number(r.desired), completed: Number(r.completed) }]));
}
