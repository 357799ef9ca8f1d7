import type { NodeRow } from "../db/nodes.js";
import type { TaskRow } from "../db/tasks.js";
import type { NodeLoad } from "../domain/node.js";
import { addLoad, addRecentFailure, addTask, newNodeInfo, type NodeInfo } from "../scheduler/node-info.js";
import { scheduleTasks, type TaskToSchedule } from "../scheduler/scheduler.js";
import type { SchedulingStrategy, ServiceSpec } from "../domain/service-spec.js";
import { isDesiredUp, isTerminal, rank } from "../domain/task-states.js";
import type { ServiceView } from "./context.js";
import { planDependencyHolds } from "./dependencies.js";
import type { TaskBook } from "./task-book.js";

const failureWindowMs = 5 * 60_000;

/** The scheduler's view of every node: its resources and what its active tasks hold (the book's, and `others` for the rest). */
export function nodeInfos(book: TaskBook, nodes: Map<string, NodeRow>, others: Map<string, NodeLoad>, now: number): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const n of nodes.values())
    infos.set(
      n.id,
      newNodeInfo({
        ...n,
        ready: n.state === "ready",
        resources: { nanoCpus: n.nanoCpus, memoryBytes: n.memoryBytes },
      }),
    );
  for (const [nodeId, load] of others) {
    const info = infos.get(nodeId);
    if (info) addLoad(info, load);
  }
  for (const t of book.all()) {
    const info = t.nodeId ? infos.get(t.nodeId) : undefined;
    if (!info) continue;
    if (t.state === "failed" && t.stateChangedAt >= now - failureWindowMs) addRecentFailure(info, t.serviceId);
    if (!isDesiredUp(t.desiredState) || isTerminal(t.state) || rank(t.state) < rank("assigned")) continue;
    addTask(info, {
      serviceId: t.serviceId,
      reservations: { nanoCpus: t.reserveNanoCpus, memoryBytes: t.reserveMemoryBytes },
      hostPorts: t.hostPorts,
    });
  }
  return infos;
}

/** What the scheduler needs of a task. */
export function taskToSchedule(t: TaskRow, spec: ServiceSpec, defaultStrategy: SchedulingStrategy): TaskToSchedule {
  return {
    id: t.id,
    serviceId: t.serviceId,
    reservations: { nanoCpus: t.reserveNanoCpus, memoryBytes: t.reserveMemoryBytes },
    placement: spec.task.placement,
    hostPorts: spec.endpoint.ports.filter((p) => p.publishMode === "host" && p.publishedPort),
    strategy: spec.task.strategy ?? defaultStrategy,
    ...(t.nodeId ? { nodeId: t.nodeId } : {}),
  };
}

/**
 * Assigns every pending task that should run: replicated tasks to the best
 * node, global ones to their own node if it fits. A task that fits nowhere
 * stays pending with the scheduler's "no suitable node (…)" reason and is
 * tried again on the next reconcile (which any change triggers). Tasks of a
 * service waiting on its dependencies stay pending with why (dependencies.ts).
 */
export function scheduleBook(
  book: TaskBook,
  nodes: Map<string, NodeRow>,
  others: Map<string, NodeLoad>,
  services: Map<string, ServiceView>,
  defaultStrategy: SchedulingStrategy,
  now: number,
  random?: () => number,
): void {
  const holds = planDependencyHolds(services, book.all());
  const pending = book.all().filter((t) => {
    if (!isDesiredUp(t.desiredState) || rank(t.state) >= rank("assigned") || !services.has(t.serviceId)) return false;
    const hold = holds.get(t.serviceId);
    if (hold && t.stateMessage !== hold) Object.assign(t, { state: "pending", stateMessage: hold, updatedAt: now });
    return !hold;
  });
  if (pending.length === 0) return;
  const infos = nodeInfos(book, nodes, others, now);
  const toSchedule = (t: TaskRow) => taskToSchedule(t, services.get(t.serviceId)!.spec, defaultStrategy);
  const byId = new Map(pending.map((t) => [t.id, t]));
  const apply = (result: ReturnType<typeof scheduleTasks>) => {
    for (const [taskId, nodeId] of result.assignments) {
      const t = byId.get(taskId)!;
      Object.assign(t, { nodeId, state: "assigned", stateMessage: "", stateChangedAt: now, updatedAt: now });
    }
    for (const [taskId, message] of result.unschedulable) {
      const t = byId.get(taskId)!;
      if (t.stateMessage !== message || t.state !== "pending")
        Object.assign(t, { state: "pending", stateMessage: message, updatedAt: now });
    }
  };
  // Global tasks carry their node: the scheduler checks only that one.
  apply(scheduleTasks([...infos.values()], pending.map(toSchedule), { random }));
}
