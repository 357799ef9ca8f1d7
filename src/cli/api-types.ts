import type { NodeAvailability, NodeRole, NodeState } from "../domain/node.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import type { DesiredState, TaskState } from "../domain/task-states.js";

/** The API's JSON as the CLI reads it (see GET /openapi.json). */

export interface UpdateStatus {
  state: "updating" | "paused" | "completed" | "rollback_started" | "rollback_paused" | "rollback_completed";
  message: string;
  startedAt: string;
  completedAt?: string;
}

export interface Service {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  spec: ServiceSpec;
  previousSpec?: ServiceSpec;
  serviceStatus: { runningTasks: number; desiredTasks: number; completedTasks: number };
  updateStatus?: UpdateStatus;
}

export interface Task {
  id: string;
  version: number;
  name: string;
  serviceId: string;
  slot: number | null;
  nodeId: string | null;
  desiredState: DesiredState;
  status: { state: TaskState; message: string; error: string; exitCode: number | null; timestamp: string };
  specHash: string;
  /** The image the task runs (older tasks of a slot may run an older one). */
  image: string;
  createdAt: string;
  updatedAt: string;
}

export interface Node {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  spec: { role: NodeRole; availability: NodeAvailability; labels: Record<string, string> };
  description: {
    hostname: string;
    machineId: string;
    platform: { os: string; architecture: string };
    resources: { nanoCpus: number; memoryBytes: number };
    engine: { version: string; labels: Record<string, string> };
  };
  status: { state: NodeState; message: string; addr: string; lastHeartbeatAt: string };
}

export interface Network {
  id: string;
  name: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  driver: string;
  scope: string;
  subnet: string;
  gateway: string;
  vni: number;
  mtu?: number;
  encrypted: boolean;
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  services: string[];
}

export interface Swarm {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  spec: {
    heartbeatPeriodMs: number;
    missedHeartbeats: number;
    maxHeartbeatsPerSecond: number;
    taskHistoryLimit: number;
    defaultStrategy: string;
  };
  status: { nodeCount: number; heartbeatPeriodMs: number; downAfterMs: number };
}

export interface JoinTokens {
  worker: string;
  manager: string;
}

/** A secret (never with its data) or a config (with its data in base64). */
export interface FileObject {
  id: string;
  name: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  labels: Record<string, string>;
  size: number;
  services: string[];
  data?: string;
}
