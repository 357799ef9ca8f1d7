import { and, asc, eq, inArray, notInArray, or, sql } from "drizzle-orm";
import type { TaskSpec } from "../domain/task-spec.js";
import { movesForward, type TaskState } from "../domain/task-states.js";
import type { Db } from "./client.js";
import { requireChanged } from "./cas.js";
import { bumpGeneration } from "./cluster.js";
import { insertEvent } from "./events.js";
import { services, taskSpecs, tasks } from "./schema/index.js";

export type TaskRow = typeof tasks.$inferSelect;

export async function listTasks(db: Db): Promise<TaskRow[]> {
  return db.select().from(tasks).orderBy(asc(tasks.serviceId), asc(tasks.slot), asc(tasks.createdAt));
}

/** The image each task spec runs (all, or those of `hashes`), by spec hash (docker service ps IMAGE). */
export async function taskImages(db: Db, hashes?: string[]): Promise<Map<string, string>> {
  const rows = await db
    .select({ hash: taskSpecs.hash, image: sql<string>`json_extract(${taskSpecs.spec}, '$.task.container.image')` })
    .from(taskSpecs)
    .where(hashes ? inArray(taskSpecs.hash, hashes) : undefined);
  return new Map(rows.map((r) => [r.hash, r.image]));
}

/** What each task spec runs (those of `hashes`), by spec hash (the Docker API's task `Spec`). */
export async function getTaskSpecs(db: Db, hashes: string[]): Promise<Map<string, TaskSpec>> {
  if (hashes.length === 0) return new Map();
  const rows = await db.select().from(taskSpecs).where(inArray(taskSpecs.hash, [...new Set(hashes)]));
  return new Map(rows.map((r) => [r.hash, r.spec]));
}

/** A service's tasks, every state (old ones too, until the reaper removes them). */
export async function listServiceTasks(db: Db, serviceId: string): Promise<TaskRow[]> {
  return db.select().from(tasks).where(eq(tasks.serviceId, serviceId)).orderBy(asc(tasks.slot), asc(tasks.createdAt));
}

export async function getTask(db: Db, id: string): Promise<TaskRow | undefined> {
  return db.query.tasks.findFirst({ where: eq(tasks.id, id) });
}

export interface Assignment {
  task: TaskRow;
  serviceName: string;
  spec: TaskSpec;
}

const stoppedStates = ["complete", "shutdown", "failed", "rejected", "remove", "orphaned"] as const;

/**
 * What one node's agent must act on: its tasks that should run, and those that
 * should stop but have not yet. A container whose task is not here is removed.
 */
export async function listNodeAssignments(db: Db, nodeId: string): Promise<Assignment[]> {
  const rows = await db
    .select({ task: tasks, spec: taskSpecs.spec, serviceName: services.name })
    .from(tasks)
    .innerJoin(taskSpecs, eq(taskSpecs.hash, tasks.specHash))
    .leftJoin(services, eq(services.id, tasks.serviceId))
    .where(
      and(
        eq(tasks.nodeId, nodeId),
        notInArray(tasks.state, ["new", "pending"]),
        or(inArray(tasks.desiredState, ["ready", "running"]), notInArray(tasks.state, [...stoppedStates])),
      ),
    )
    .orderBy(asc(tasks.id));
  return rows.map((r) => ({ task: r.task, spec: r.spec, serviceName: r.serviceName ?? r.task.serviceId }));
}

/**
 * The tasks of one node that ended and that the store still holds (the task history,
 * up to its limit), of services that still exist: their containers stay on the host,
 * stopped, so their logs can be read, as Swarm keeps a historic task's container until
 * the task is deleted. Those being removed are not among them. Called by the long-poll.
 */
export async function listNodeEndedTaskIds(db: Db, nodeId: string): Promise<string[]> {
  const rows = await db
    .select({ id: tasks.id })
    .from(tasks)
    .innerJoin(services, eq(services.id, tasks.serviceId))
    .where(and(eq(tasks.nodeId, nodeId), inArray(tasks.state, [...stoppedStates]), inArray(tasks.desiredState, ["shutdown", "complete"])))
    .orderBy(asc(tasks.id));
  return rows.map((r) => r.id);
}

export interface TaskStatusReport {
  taskId: string;
  state: TaskState;
  message?: string;
  error?: string;
  exitCode?: number | null;
}

/**
 * Applies an agent's status reports for its own tasks. States only move
 * forward: a report for another node's task, or of a state at or below the
 * stored one, is ignored. Guarded on each task's version. Returns how many applied.
 */
export async function applyTaskStatus(
  db: Db,
  clusterId: string,
  nodeId: string,
  reports: TaskStatusReport[],
  now: number,
): Promise<number> {
  const ids = [...new Set(reports.map((r) => r.taskId))];
  if (ids.length === 0) return 0;
  const current = new Map(
    (await db.select().from(tasks).where(and(eq(tasks.nodeId, nodeId), inArray(tasks.id, ids)))).map((t) => [t.id, t]),
  );
  const statements = [];
  for (const report of reports) {
    const task = current.get(report.taskId);
    if (!task || !movesForward(task.state, report.state)) continue;
    statements.push(
      db
        .update(tasks)
        .set({
          state: report.state,
          stateMessage: report.message ?? "",
          error: report.error ?? "",
          exitCode: report.exitCode ?? null,
          stateChangedAt: now,
          ...(report.state === "running" && task.startedAt === null ? { startedAt: now } : {}),
          updatedAt: now,
          version: task.version + 1,
        })
        .where(and(eq(tasks.id, task.id), eq(tasks.version, task.version))),
      requireChanged(db),
      insertEvent(db, now, "task", report.state, task.id, {
        service: task.serviceId,
        node: nodeId,
        ...(report.error ? { error: report.error } : {}),
        ...(report.exitCode !== undefined && report.exitCode !== null ? { exitCode: String(report.exitCode) } : {}),
      }),
    );
    current.set(task.id, { ...task, state: report.state, version: task.version + 1 });
  }
  if (statements.length === 0) return 0;
  await db.batch([bumpGeneration(db, clusterId), ...statements]);
  return statements.length / 3;
}

