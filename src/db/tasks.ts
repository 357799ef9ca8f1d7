import { and, asc, eq, inArray, isNotNull, notInArray, or, sql } from "drizzle-orm";
import type { TaskSpec } from "../domain/task-spec.js";
import { isDesiredUp, isTerminal, movesForward, rank, taskStates, type TaskState } from "../domain/task-states.js";
import type { NodeLoad } from "../domain/node.js";
import type { Db } from "./client.js";
import { chunks, requireChanged } from "./cas.js";
import { markReportedServices } from "./reconcile-marks.js";
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

/** Every task of these services (a reconcile pass's scope). */
export async function listTasksOfServices(db: Db, serviceIds: string[]): Promise<TaskRow[]> {
  const parts = await Promise.all(chunks(serviceIds, 1).map((part) => db.select().from(tasks).where(inArray(tasks.serviceId, part))));
  return parts.flat();
}

/** The states in which a task holds its node's resources and ports (the scheduler counts it). */
export const holdingStates = taskStates.filter((s) => rank(s) >= rank("assigned") && !isTerminal(s));
export const holdsNode = (t: Pick<TaskRow, "nodeId" | "state" | "desiredState">) =>
  t.nodeId !== null && isDesiredUp(t.desiredState) && holdingStates.includes(t.state);

/** What the tasks holding each node hold, summed per node (SQL's side of the scheduler's node view). */
export async function nodeLoads(db: Db): Promise<Map<string, NodeLoad>> {
  const rows = await db
    .select({
      nodeId: tasks.nodeId,
      taskCount: sql<number>`count(*)`,
      nanoCpus: sql<number>`sum(${tasks.reserveNanoCpus})`,
      memoryBytes: sql<number>`sum(${tasks.reserveMemoryBytes})`,
      hostPorts: sql<string>`json_group_array(json(${tasks.hostPorts})) FILTER (WHERE ${tasks.hostPorts} <> '[]')`,
    })
    .from(tasks)
    .where(and(isNotNull(tasks.nodeId), inArray(tasks.desiredState, ["ready", "running"]), inArray(tasks.state, holdingStates)))
    .groupBy(tasks.nodeId);
  return new Map(
    rows.map((r) => [
      r.nodeId!,
      {
        taskCount: Number(r.taskCount),
        reserved: { nanoCpus: Number(r.nanoCpus), memoryBytes: Number(r.memoryBytes) },
        hostPorts: (JSON.parse(r.hostPorts) as string[][]).flat(),
      },
    ]),
  );
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
  const reported: TaskRow[] = [];
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
    reported.push(current.get(task.id)!);
  }
  if (statements.length === 0) return 0;
  const mark = markReportedServices(db, reported.map((t) => t.serviceId), reported.some((t) => isTerminal(t.state)));
  // No cluster generation bump: a reconcile pass guards each task it changes on its version, and
  // a mark written here survives a pass that read before it (its token is new), so a report
  // that marks nothing never makes a concurrent pass over a large service start again.
  const [first, ...rest] = [...mark, ...statements];
  await db.batch([first!, ...rest]);
  return statements.length / 3;
}

