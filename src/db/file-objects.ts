import { and, asc, eq, gte, inArray, lt } from "drizzle-orm";
import type { Db } from "./client.js";
import { requireChanged } from "./cas.js";
import { insertEvent } from "./events.js";
import { fileObjects, type FileObjectKind } from "./schema/index.js";

export type FileObjectRow = typeof fileObjects.$inferSelect;

export async function listFileObjects(db: Db, kind: FileObjectKind): Promise<FileObjectRow[]> {
  return db.select().from(fileObjects).where(eq(fileObjects.kind, kind)).orderBy(asc(fileObjects.name));
}

export async function listFileObjectsById(db: Db, ids: string[]): Promise<FileObjectRow[]> {
  return ids.length ? db.select().from(fileObjects).where(inArray(fileObjects.id, ids)) : [];
}

/** A secret or config by what a user typed: the full id, else the name, else an id prefix (more than one = ambiguous). */
export async function findFileObjectsByRef(db: Db, kind: FileObjectKind, ref: string): Promise<FileObjectRow[]> {
  const ofKind = eq(fileObjects.kind, kind);
  const byId = await db.select().from(fileObjects).where(and(ofKind, eq(fileObjects.id, ref)));
  if (byId.length) return byId;
  const byName = await db.select().from(fileObjects).where(and(ofKind, eq(fileObjects.name, ref)));
  if (byName.length) return byName;
  return db
    .select()
    .from(fileObjects)
    .where(and(ofKind, gte(fileObjects.id, ref), lt(fileObjects.id, `${ref}\uffff`)))
    .limit(2);
}

/** Inserts one; the unique (kind, name) index refuses a taken name. The event carries the name only, never the data. */
export async function insertFileObject(db: Db, row: FileObjectRow): Promise<void> {
  await db.batch([db.insert(fileObjects).values(row), insertEvent(db, row.createdAt, row.kind, "create", row.id, { name: row.name })]);
}

/** Removes one; guarded on the version read. */
export async function deleteFileObject(db: Db, row: FileObjectRow, now: number): Promise<void> {
  await db.batch([
    db.delete(fileObjects).where(and(eq(fileObjects.id, row.id), eq(fileObjects.version, row.version))),
    requireChanged(db),
    insertEvent(db, now, row.kind, "remove", row.id, { name: row.name }),
  ]);
}

/** Sets the labels (the one mutable part, as in Swarm); guarded on the version read. */
export async function updateFileObjectLabels(db: Db, row: FileObjectRow, labels: Record<string, string>, now: number): Promise<FileObjectRow> {
  const updated = { ...row, labels, version: row.version + 1, updatedAt: now };
  await db.batch([
    db
      .update(fileObjects)
      .set({ labels, version: updated.version, updatedAt: now })
      .where(and(eq(fileObjects.id, row.id), eq(fileObjects.version, row.version))),
    requireChanged(db),
    insertEvent(db, now, row.kind, "update", row.id, { name: row.name }),
  ]);
  return updated;
}
