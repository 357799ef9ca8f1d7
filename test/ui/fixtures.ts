import type { Node, Service, Task } from "../../src/cli/api-types.js";
import type { ApiEvent } from "../../src/cli/event-views.js";
import { fixtureSpec } from "../helpers/cluster-fixtures.js";

/** The API's JSON for the web view's pure parts, as GET /v1/nodes, /v1/services and /v1/tasks answer. */

const t = "2026-01-01T00:00:00.000Z";

export function apiNode(id: string, hostname: string, over: { state?: Node["status"]["state"]; availability?: Node["spec"]["availability"]; role?: Node["spec"]["role"]; labels?: Record<string, string> } = {}): Node {
  return {
    id,
    version: 1,
    createdAt: t,
    updatedAt: t,
    spec: { role: over.role ?? "worker", availability: over.availability ?? "active", labels: over.labels ?? {} },
    description: {
      hostname,
      machineId: `m-${id}`,
      platform: { os: "linux", architecture: "x86_64" },
      resources: { nanoCpus: 2e9, memoryBytes: 2 * 1024 ** 3 },
      engine: { version: "28.2.2", labels: {} },
    },
    status: { state: over.state ?? "ready", message: "", addr: "10.0.0.1", lastHeartbeatAt: t },
  };
}

export function apiService(id: string, body: Record<string, unknown>): Service {
  return {
    id,
    version: 1,
    createdAt: t,
    updatedAt: t,
    spec: fixtureSpec(body),
    serviceStatus: { runningTasks: 0, desiredTasks: 0, completedTasks: 0 },
  };
}

export function apiTask(id: string, serviceId: string, over: Partial<Omit<Task, "status">> & { state?: Task["status"]["state"] } = {}): Task {
  const { state, ...rest } = over;
  return {
    id,
    version: 1,
    name: `${serviceId}.1`,
    serviceId,
    slot: 1,
    nodeId: null,
    desiredState: "running",
    status: { state: state ?? "running", message: "", error: "", exitCode: null, timestamp: t },
    specHash: "h",
    image: "busybox:1",
    createdAt: t,
    updatedAt: t,
    ...rest,
  };
}

export function apiEvent(id: number, type: string, action: string, actorId: string, attributes: Record<string, string> = {}): ApiEvent {
  return { id, name: `${type}.${action}`, type, action, actor: { id: actorId, attributes }, time: "2026-01-01T00:01:00.000Z" };
}
