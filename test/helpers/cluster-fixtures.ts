import { ServiceSpecSchema } from "../../src/protocol/service-spec-schema.js";
import type { NodeRow } from "../../src/db/nodes.js";
import type { ServiceRow } from "../../src/db/services.js";
import type { TaskRow } from "../../src/db/tasks.js";
import { planReconcile, type ReconcilePlan } from "../../src/orchestrator/plan-reconcile.js";
import { statusAfterUpdate } from "../../src/domain/update-status.js";
import type { ServiceSpec } from "../../src/domain/service-spec.js";
import { newNodeInfo, type NodeInfo } from "../../src/scheduler/node-info.js";

export const t0 = Date.parse("2026-01-01T00:00:00Z");

export function fixtureNode(id: string, over: Partial<NodeRow> = {}): NodeRow {
  return {
    id,
    hostname: id,
    version: 1,
    createdAt: t0,
    updatedAt: t0,
    role: "worker",
    availability: "active",
    labels: {},
    machineId: `m-${id}`,
    os: "linux",
    architecture: "x86_64",
    nanoCpus: 4e9,
    memoryBytes: 8 * 1024 ** 3,
    engineVersion: "20.10",
    engineLabels: {},
    addr: "10.0.0.1",
    overlay: null,
    networkIssues: [],
    state: "ready",
    stateMessage: "",
    lastHeartbeatAt: t0,
    leaseExpiresAt: t0 + 6000,
    credentialGeneration: 1,
    assignmentGeneration: 0,
    ...over,
  };
}

/** A scheduling view of a 4-CPU, 8 GiB ready worker with no tasks; override what a test cares about. */
export function fixtureNodeInfo(id: string, over: Partial<NodeInfo> = {}): NodeInfo {
  const info = newNodeInfo({
    id,
    hostname: `host-${id}`,
    role: "worker",
    os: "linux",
    architecture: "x86_64",
    addr: "10.0.0.7",
    labels: {},
    engineLabels: {},
    ready: true,
    availability: "active",
    resources: { nanoCpus: 4e9, memoryBytes: 8 * 1024 ** 3 },
  });
  return Object.assign(info, over);
}

/** A full spec from a partial request body, through the API's own schema (so defaults are Swarm's). */
export function fixtureSpec(body: Record<string, unknown>): ServiceSpec {
  return ServiceSpecSchema.parse({ task: { container: { image: "busybox:1" } }, ...body }) as ServiceSpec;
}

export function fixtureService(id: string, spec: ServiceSpec): ServiceRow {
  return { id, name: spec.name, version: 1, createdAt: t0, updatedAt: t0, mode: spec.mode, spec, previousSpec: null, updateStatus: null };
}

/**
 * Applies plans to an in-memory cluster, as the reconcile I/O would: for
 * driving the pure orchestrator through several passes in tests.
 */
export class FakeCluster {
  tasks: TaskRow[] = [];
  now = t0;
  private seq = 0;
  constructor(
    public nodes: NodeRow[],
    public services: ServiceRow[],
    public historyLimit = 5,
  ) {}

  reconcile(random?: () => number): ReconcilePlan {
    const plan = planReconcile({
      now: this.now,
      cluster: { taskHistoryLimit: this.historyLimit, defaultStrategy: "spread" },
      nodes: this.nodes,
      services: this.services,
      tasks: this.tasks,
      newTaskId: () => `task_${String(++this.seq).padStart(6, "0")}`,
      random,
    });
    const deleted = new Set(plan.deleted.map((t) => t.id));
    const updated = new Map(plan.updated.map((u) => [u.after.id, u.after]));
    this.tasks = [...this.tasks.filter((t) => !deleted.has(t.id)).map((t) => updated.get(t.id) ?? t), ...plan.inserted];
    for (const { before, set } of plan.services) {
      const row = this.services.find((s) => s.id === before.id)!;
      Object.assign(row, set, { version: before.version + 1, updatedAt: this.now });
    }
    return plan;
  }

  /** What an agent would report: assigned tasks become running (or the given state). */
  report(pred: (t: TaskRow) => boolean, state: TaskRow["state"], exitCode: number | null = null) {
    for (const t of this.tasks)
      if (pred(t))
        Object.assign(t, { state, exitCode, stateChangedAt: this.now, ...(state === "running" && t.startedAt === null ? { startedAt: this.now } : {}) });
  }

  /** As PUT /v1/services/{id} does: the old spec is kept, and a task spec change starts an update. */
  updateSpec(serviceId: string, spec: ServiceSpec) {
    const row = this.services.find((s) => s.id === serviceId)!;
    Object.assign(row, { previousSpec: row.spec, spec, updateStatus: statusAfterUpdate(row.spec, spec, row.updateStatus, this.now), version: row.version + 1 });
  }

  up(serviceId?: string) {
    return this.tasks.filter((t) => (t.desiredState === "running" || t.desiredState === "ready") && (!serviceId || t.serviceId === serviceId));
  }
}
