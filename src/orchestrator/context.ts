import type { NodeRow } from "../db/nodes.js";
import type { NodeLoad } from "../domain/node.js";
import type { TaskRow } from "../db/tasks.js";
import type { ServiceSpec, UpdateStatus } from "../domain/service-spec.js";
import { parseConstraint, type Constraint } from "../domain/constraint.js";
import { constraintMatches } from "../scheduler/constraint.js";
import { hashTaskSpec, taskSpecOf } from "../domain/task-spec.js";
import type { TaskBook } from "./task-book.js";

export interface ServiceView {
  id: string;
  name: string;
  spec: ServiceSpec;
  previousSpec: ServiceSpec | null;
  updateStatus: UpdateStatus | null;
  /** Hash of the spec's task part: tasks with another hash run an older spec. */
  specHash: string;
}

export const viewOf = (s: Omit<ServiceView, "specHash">): ServiceView => ({
  id: s.id,
  name: s.name,
  spec: s.spec,
  previousSpec: s.previousSpec,
  updateStatus: s.updateStatus,
  specHash: hashTaskSpec(taskSpecOf(s.spec)),
});

/** What a planner changes on a service row (update status; spec and previous spec on a rollback). */
export type ServiceChange = Partial<Pick<ServiceView, "spec" | "previousSpec" | "updateStatus">>;

/** What every planner of one reconcile shares. */
export interface OrchestratorContext {
  now: number;
  book: TaskBook;
  nodes: Map<string, NodeRow>;
  /** What tasks of services outside this pass hold on each node. */
  others: Map<string, NodeLoad>;
  newTaskId: () => string;
  /** Records a change to a service, with the event that tells of it. */
  changeService(service: ServiceView, change: ServiceChange, eventAction: string): void;
  /** Asks for another look at a service at `at` (a delay or a monitor window ends). */
  wake(serviceId: string, at: number): void;
}

/** Why a task can no longer stay on its node, or undefined when it can. */
export function displacement(ctx: OrchestratorContext, task: TaskRow, spec: ServiceSpec): string | undefined {
  if (!task.nodeId) return undefined;
  const node = ctx.nodes.get(task.nodeId);
  if (!node) return "node removed";
  if (node.state === "down") return "node down";
  if (node.availability === "drain") return "node drained";
  if (!meetsConstraints(node, spec)) return "assigned node no longer meets constraints";
  return undefined;
}

const parsed = new Map<string, Constraint | undefined>();
function constraintsOf(spec: ServiceSpec): Constraint[] {
  return spec.task.placement.constraints.flatMap((text) => {
    if (!parsed.has(text)) {
      const c = parseConstraint(text);
      parsed.set(text, "error" in c ? undefined : c);
    }
    const c = parsed.get(text);
    return c ? [c] : [];
  });
}

export const meetsConstraints = (node: NodeRow, spec: ServiceSpec) =>
  constraintsOf(spec).every((c) => constraintMatches(node, c));

/** A new task of a service, pending until the scheduler assigns it. */
export function newTask(
  ctx: OrchestratorContext,
  service: ServiceView,
  opts: { slot: number | null; nodeId?: string | null; attempt?: number; delayMs?: number },
): TaskRow {
  const delay = opts.delayMs ?? 0;
  const { reservations } = service.spec.task.resources;
  const row: TaskRow = {
    id: ctx.newTaskId(),
    version: 1,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    serviceId: service.id,
    slot: opts.slot,
    nodeId: opts.nodeId ?? null,
    specHash: service.specHash,
    desiredState: delay > 0 ? "ready" : "running",
    state: "pending",
    stateMessage: "",
    stateChangedAt: ctx.now,
    startedAt: null,
    error: "",
    exitCode: null,
    attempt: opts.attempt ?? 0,
    restartAt: delay > 0 ? ctx.now + delay : null,
    reserveNanoCpus: reservations.nanoCpus,
    reserveMemoryBytes: reservations.memoryBytes,
    hostPorts: service.spec.endpoint.ports
      .filter((p) => p.publishMode === "host" && p.publishedPort)
      .map((p) => `${p.protocol}/${p.publishedPort}`),
  };
  return ctx.book.add(row);
}
