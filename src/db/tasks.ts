import { asc, eq } from "drizzle-orm";
import type { Db } from "./client.js";
import { tasks } from "./schema/index.js";

export type TaskRow = typeof tasks.$inferSelect;

export async function listTasks(db: Db): Promise<TaskRow[]> {
  return db.select().from(tasks).orderBy(asc(tasks.serviceId), asc(tasks.slot), asc(tasks.createdAt));
}

export async function getTask(db: Db, id: string): Promise<TaskRow | undefined> {
  return db.query.tasks.findFirst({ where: eq(tasks.id, id) });
}
