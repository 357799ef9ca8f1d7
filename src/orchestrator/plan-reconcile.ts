import type { ClusterRow } from "../db/cluster.js";
import type { NodeRow } from "../db/nodes.js";
import type { ServiceRow } from "../db/services.js";
import type { TaskRow } from "../db/tasks.js";
import type { EventType } from "../db/schema/index.js";
import { isDesiredUp, rank } from "../spec/task-states.js";
import type { OrchestratorContext, ServiceView } from "./context.js";
import { planGlobal } from "./global.js";
import { reapTasks } from "./reaper.js";
import { planReplicated } from "./replicated.js";
import { planReplicatedJob } from "./replicated-job.js";
import { scheduleBook } from "./schedule.js";
import { hashTaskSpec, taskSpecOf, type TaskSpec } from "./spec-hash.js";
import { TaskBook, type TaskUpdate } from "./task-book.js";

export interface ReconcileInput {
  now: number;
  cluster: Pick<ClusterRow, "taskHistoryLimit" | "defaultStrategy">;
  nodes: NodeRow[];
  services: ServiceRow[];
  tasks: TaskRow[];
  newTaskId: () => string;
  random?: () => number;
}

export interface EventDraft {
  time: number;
  type: EventType;
  action: string;
  actorId: string;
  attributes: Record<string, string>;
}

export interface ReconcilePlan {
  inserted: TaskRow[];
  updated: TaskUpdate[];
  deleted: TaskRow[];
  /** The spec of every inserted task, by hash. */
  taskSpecs: Map<string, TaskSpec>;
  events: EventDraft[];
  /** When a restart delay next runs out; null when none is waiting. */
  wakeAt: number | null;
}

/**
 * One pass of the orchestrators, the scheduler and the task reaper over a
 * snapshot. Pure: the caller reads the snapshot and writes the plan.
 */
export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const { now } = input;
  const book = new TaskBook(input.tasks, now);
  const ctx: OrchestratorContext = { now, book, nodes: new Map(input.nodes.map((n) => [n.id, n])), newTaskId: input.newTaskId };
  const taskSpecs = new Map<string, TaskSpec>();
  const views = new Map<string, ServiceView>();

  for (const service of input.services) {
    const spec = taskSpecOf(service.spec);
    const view: ServiceView = { id: service.id, name: service.name, spec: service.spec, specHash: hashTaskSpec(spec) };
    views.set(service.id, view);
    taskSpecs.set(view.specHash, spec);
    switch (service.spec.mode) {
      case "replicated":
        planReplicated(ctx, view);
        break;
      case "global":
      case "global-job":
        planGlobal(ctx, view);
        break;
      case "replicated-job":
        planReplicatedJob(ctx, view);
        break;
    }
  }

  for (const task of book.all()) {
    // Tasks of removed services go too.
    if (!views.has(task.serviceId) && isDesiredUp(task.desiredState)) book.setDesired(task, "remove");
    // A restart delay ran out: the task may start.
    if (task.desiredState === "ready" && task.restartAt !== null && task.restartAt <= now) {
      task.desiredState = "running";
      task.restartAt = null;
    }
    // No agent ever had a task that is stopped before it was assigned: it is shut down right here.
    if (!isDesiredUp(task.desiredState) && rank(task.state) < rank("assigned")) {
      task.state = "shutdown";
      task.stateChangedAt = now;
    }
  }

  scheduleBook(book, ctx.nodes, views, input.cluster.defaultStrategy, now, input.random);
  reapTasks(book, input.cluster.taskHistoryLimit);

  const { inserted, updated, deleted } = book.changes();
  const usedSpecs = new Map([...taskSpecs].filter(([hash]) => inserted.some((t) => t.specHash === hash)));
  let wakeAt: number | null = null;
  for (const t of book.all())
    if (t.desiredState === "ready" && t.restartAt !== null) wakeAt = wakeAt === null ? t.restartAt : Math.min(wakeAt, t.restartAt);

  return { inserted, updated, deleted, taskSpecs: usedSpecs, events: taskEvents(now, inserted, updated), wakeAt };
}

function taskEvents(now: number, inserted: TaskRow[], updated: TaskUpdate[]): EventDraft[] {
  const event = (t: TaskRow, action: string, extra: Record<string, string> = {}): EventDraft => ({
    time: now,
    type: "task",
    action,
    actorId: t.id,
    attributes: { service: t.serviceId, ...(t.nodeId ? { node: t.nodeId } : {}), ...extra },
  });
  const events = inserted.map((t) => event(t, "create", { state: t.state, desiredState: t.desiredState }));
  for (const { before, after } of updated) {
    if (after.state !== before.state) events.push(event(after, after.state, after.stateMessage ? { message: after.stateMessage } : {}));
    if (after.desiredState !== before.desiredState) events.push(event(after, "desired", { desiredState: after.desiredState }));
  }
  return events;
}
