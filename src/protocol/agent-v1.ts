import { z } from "zod";
import { nodeRoles, nodeStates } from "../domain/node.js";
import type { TaskSpec } from "../domain/task-spec.js";
import { desiredStates, taskStates } from "../domain/task-states.js";
import { Labels, strictObject } from "./schema.js";

/**
 * The agent protocol, version 1: what the agent sends and what the dispatcher
 * answers. The dispatcher validates requests and documents answers with these
 * schemas; the agent reads answers with them. A change that an agent of this
 * version cannot read is a new version.
 */
export const agentV1Paths = {
  join: "/v1/agent/join",
  heartbeat: "/v1/agent/heartbeat",
  assignments: "/v1/agent/assignments",
  status: "/v1/agent/status",
  leave: "/v1/agent/leave",
} as const;

const hostnamePattern = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

const descriptionShape = {
  hostname: z.string().max(253).regex(hostnamePattern, "a hostname: labels of letters, digits and '-' joined by '.'"),
  platform: strictObject({
    os: z.string().min(1).max(32).meta({ example: "linux" }),
    architecture: z.string().min(1).max(32).meta({ example: "x86_64" }),
  }),
  resources: strictObject({
    nanoCpus: z.number().int().min(0).max(1e15).meta({ description: "CPUs × 10⁹" }),
    memoryBytes: z.number().int().min(0).max(2 ** 52),
  }),
  engine: strictObject({ version: z.string().min(1).max(64), labels: Labels }),
  addr: z.union([z.ipv4(), z.ipv6()], { error: "an IPv4 or IPv6 address" }).meta({ description: "The address other hosts reach this node at" }),
};

/** What the agent tells about its host in heartbeats (without the machine id, which only a join sends). */
export const HostDescription = strictObject(descriptionShape);
export type HostDescription = z.infer<typeof HostDescription>;

export const NodeDescription = strictObject({
  machineId: z
    .string()
    .min(8)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, "letters, digits, '.', '_', ':' and '-'")
    .meta({ description: "Stable id of the machine (e.g. /etc/machine-id): a re-join keeps the node" }),
  ...descriptionShape,
}).meta({ id: "NodeDescription" });
export type NodeDescription = z.infer<typeof NodeDescription>;

export const JoinRequest = strictObject({
  role: z.enum(nodeRoles).optional().meta({ description: "Must match the join token's role when given" }),
  description: NodeDescription,
}).meta({ id: "JoinRequest" });
export type JoinRequest = z.infer<typeof JoinRequest>;

export const Joined = z
  .object({
    nodeId: z.string(),
    credential: z.string().meta({ description: "The node credential: the bearer token for agent routes" }),
    heartbeatPeriodMs: z.number().int(),
  })
  .meta({ id: "Joined" });
export type Joined = z.infer<typeof Joined>;

export const Heartbeat = strictObject({
  description: HostDescription.optional().meta({ description: "Send when the description changed" }),
  engineDown: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .meta({ description: "The agent is alive but cannot reach its Docker engine (why): the node is down until a heartbeat without it" }),
}).meta({ id: "Heartbeat" });
export type Heartbeat = z.infer<typeof Heartbeat>;

export const HeartbeatAck = z
  .object({
    nodeId: z.string(),
    state: z.enum(nodeStates),
    heartbeatPeriodMs: z.number().int().meta({ description: "When to call in next" }),
    credential: z.string().optional().meta({ description: "A renewed credential to use from now on" }),
  })
  .meta({ id: "HeartbeatAck" });
export type HeartbeatAck = z.infer<typeof HeartbeatAck>;

export const AssignmentsQuery = strictObject({
  since: z.coerce.number().int().min(-1).default(-1).meta({ description: "The generation the agent has; -1 answers at once" }),
  waitMs: z.coerce.number().int().min(0).max(60_000).optional().meta({ description: "How long to wait for a change (default: the heartbeat period)" }),
});

export const Assignment = z
  .object({
    id: z.string(),
    containerName: z.string().meta({ description: "<service>.<slot or node>.<task id>, as Swarm names containers" }),
    serviceId: z.string(),
    serviceName: z.string(),
    slot: z.number().int().nullable(),
    desiredState: z.enum(desiredStates),
    state: z.enum(taskStates),
    spec: z.custom<TaskSpec>().meta({ type: "object", description: "What the task runs: the service's task template and endpoint" }),
  })
  .meta({ id: "Assignment" });
export type Assignment = z.infer<typeof Assignment>;

export const Assignments = HeartbeatAck.extend({
  generation: z.number().int().meta({ description: "Pass back as `since`" }),
  tasks: z.array(Assignment),
}).meta({ id: "Assignments" });
export type Assignments = z.infer<typeof Assignments>;

export const TaskStatusUpdate = strictObject({
  taskId: z.string().regex(/^task_[a-v0-9]{1,40}$/, "a task id"),
  state: z.enum(taskStates),
  message: z.string().max(1024).optional(),
  error: z.string().max(4096).optional(),
  exitCode: z.number().int().nullable().optional(),
});
export type TaskStatusUpdate = z.infer<typeof TaskStatusUpdate>;

/** The most updates one status report may carry. */
export const maxStatusUpdates = 1000;

export const StatusReport = strictObject({
  updates: z.array(TaskStatusUpdate).max(maxStatusUpdates),
}).meta({ id: "StatusReport" });
export type StatusReport = z.infer<typeof StatusReport>;

export const StatusApplied = z.object({ applied: z.number().int() });
export type StatusApplied = z.infer<typeof StatusApplied>;
