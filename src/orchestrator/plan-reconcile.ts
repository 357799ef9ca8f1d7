import type { ClusterRow } from "../db/cluster.js";
import type { NodeRow } from "../db/nodes.js";
import type { NodeLoad } from "../domain/node.js";
import type { ServiceRow } from "../db/services.js";
import type { TaskRow } from "../db/tasks.js";
import type { EventType } from "../db/schema/index.js";
import { isDesiredUp, rank } from "../domain/task-states.js";
import { viewOf, type OrchestratorContext, type ServiceChange, type ServiceView } from "./context.js";
import { planGlobal } from "./global.js";
import { reapTasks } from "./reaper.js";
import { planReplicated } from "./replicated.js";
import { planReplicatedJob } from "./replicated-job.js";
import { scheduleBook } from "./schedule.js";
import { rebalanceBook } from "./rebalance.js";
import { taskSpecOf, type TaskSpec } from "../domain/task-spec.js";
import { TaskBook, type TaskUpdate } from "./task-book.js";

export interface ReconcileInput {
  now: number;
  cluster: Pick<ClusterRow, "taskHistoryLimit" | "defaultStrategy">;
  nodes: NodeRow[];
  /** What tasks of services not in `services` hold on each node; none when the input is every service. */
  others?: Map<string, NodeLoad>;
  services: ServiceRow[];
  /** Every task of `services`, and of any removed service whose tasks should go. */
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

/** A service row the plan changes, as read (for the version) and the columns to set. */
export interface ServiceUpdate {
  before: ServiceRow;
  set: ServiceChange;
}

export interface ReconcilePlan {
  services: ServiceUpdate[];
  inserted: TaskRow[];
  updated: TaskUpdate[];
  deleted: TaskRow[];
  /** The spec of every inserted task, by hash. */
  taskSpecs: Map<string, TaskSpec>;
  events: EventDraft[];
  /** Per service, when a restart delay, an update delay or a monitor window next runs out. */
  wakes: Map<string, number>;
  /** Every task as the plan leaves it (what the address allocator plans from). */
  tasks: TaskRow[];
}

/**
 * One pass of the orchestrators, the scheduler and the task reaper over a
 * snapshot. Pure: the caller reads the snapshot and writes the plan.
 */
export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const { now } = input;
  const book = new TaskBook(input.tasks, now);
  const serviceUpdates = new Map<string, ServiceUpdate>();
  const events: EventDraft[] = [];
  const wakes = new Map<string, number>();
  const wake = (serviceId: string, at: number) => wakes.set(serviceId, Math.min(at, wakes.get(serviceId) ?? at));
  const rows = new Map(input.services.map((s) => [s.id, s]));
  const ctx: OrchestratorContext = {
    now,
    book,
    nodes: new Map(input.nodes.map((n) => [n.id, n])),
    others: input.others ?? new Map(),
    newTaskId: input.newTaskId,
    changeService(service, change, action) {
      const update = serviceUpdates.get(service.id) ?? { before: rows.get(service.id)!, set: {} };
      Object.assign(update.set, change);
      serviceUpdates.set(service.id, update);
      const message = change.updateStatus?.message;
      events.push({ time: now, type: "service", action, actorId: service.id, attributes: { name: service.name, ...(message ? { message } : {}) } });
    },
    wake,
  };
  const taskSpecs = new Map<string, TaskSpec>();
  const views = new Map<string, ServiceView>();
  const plan = (view: ServiceView): ServiceView | undefined => {
    views.set(view.id, view);
    taskSpecs.set(view.specHash, taskSpecOf(view.spec));
    switch (view.spec.mode) {
      case "replicated":
        return planReplicated(ctx, view);
      case "global":
      case "global-job":
        return planGlobal(ctx, view);
      case "replicated-job":
        planReplicatedJob(ctx, view);
        return undefined;
    }
  };

  for (const service of input.services) {
    // A rollback (at most one per pass: a rollback cannot roll back) is planned again at once.
    const rolledBack = plan(viewOf(service));
    if (rolledBack) plan(rolledBack);
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

  scheduleBook(book, ctx.nodes, ctx.others, views, input.cluster.defaultStrategy, now, input.random);
  rebalanceBook(ctx, views, now);
  reapTasks(book, input.cluster.taskHistoryLimit);

  const { inserted, updated, deleted } = book.changes();
  const usedSpecs = new Map([...taskSpecs].filter(([hash]) => inserted.some((t) => t.specHash === hash)));
  for (const t of book.all()) if (t.desiredState === "ready" && t.restartAt !== null) wake(t.serviceId, t.restartAt);

  return {
    services: [...serviceUpdates.values()],
    inserted,
    updated,
    deleted,
    taskSpecs: usedSpecs,
    events: [...events, ...taskEvents(now, inserted, updated)],
    wakes,
    tasks: book.all(),
  };
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
