import type { TaskRow } from "../db/tasks.js";
import { isDesiredUp, type DesiredState } from "../domain/task-states.js";

/**
 * The orchestrator's working copy of the tasks during one reconcile. Planners
 * change copies; `changes()` diffs them against the snapshot, so the plan
 * writes only what changed and each change can be guarded by the task version.
 */
export class TaskBook {
  private readonly original = new Map<string, TaskRow>();
  private readonly current = new Map<string, TaskRow>();
  private readonly created = new Set<string>();
  private readonly deleted = new Set<string>();
  /** The current copies by service, so each planner reads its own tasks without a scan of all of them. */
  private readonly byService = new Map<string, Map<string, TaskRow>>();

  constructor(tasks: TaskRow[], readonly now: number) {
    for (const t of tasks) {
      this.original.set(t.id, t);
      this.index({ ...t });
    }
  }

  private index(task: TaskRow): TaskRow {
    this.current.set(task.id, task);
    const mine = this.byService.get(task.serviceId) ?? new Map<string, TaskRow>();
    mine.set(task.id, task);
    this.byService.set(task.serviceId, mine);
    return task;
  }

  all(): TaskRow[] {
    return [...this.current.values()];
  }

  ofService(serviceId: string): TaskRow[] {
    return [...(this.byService.get(serviceId)?.values() ?? [])];
  }

  add(task: TaskRow): TaskRow {
    this.created.add(task.id);
    return this.index(task);
  }

  /** Sets the desired state (never back up from shutdown/remove). */
  setDesired(task: TaskRow, desired: DesiredState): void {
    if (task.desiredState === desired) return;
    if (!isDesiredUp(task.desiredState) && isDesiredUp(desired)) return;
    task.desiredState = desired;
    task.updatedAt = this.now;
  }

  delete(task: TaskRow): void {
    this.current.delete(task.id);
    this.byService.get(task.serviceId)?.delete(task.id);
    if (this.created.has(task.id)) this.created.delete(task.id);
    else this.deleted.add(task.id);
  }

  changes(): { inserted: TaskRow[]; updated: TaskUpdate[]; deleted: TaskRow[] } {
    const inserted = [...this.created].map((id) => this.current.get(id)!);
    const updated: TaskUpdate[] = [];
    for (const [id, before] of this.original) {
      const after = this.current.get(id);
      if (!after || this.created.has(id)) continue;
      const set = changedColumns(before, after);
      if (Object.keys(set).length) updated.push({ before, after, set });
    }
    return { inserted, updated, deleted: [...this.deleted].map((id) => this.original.get(id)!) };
  }
}

/** A task as the snapshot had it, as the plan leaves it, and the columns that differ. */
export interface TaskUpdate {
  before: TaskRow;
  after: TaskRow;
  set: Partial<TaskRow>;
}

/** Columns are scalars except the host ports, a list of strings: compared without serialising (a pass diffs every task it read). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return typeof a === "object" && typeof b === "object" && JSON.stringify(a) === JSON.stringify(b);
}

function changedColumns(before: TaskRow, after: TaskRow): Partial<TaskRow> {
  const set: Partial<TaskRow> = {};
  for (const key of Object.keys(after) as (keyof TaskRow)[]) if (!sameValue(before[key], after[key])) (set as Record<string, unknown>)[key] = after[key];
  return set;
}
