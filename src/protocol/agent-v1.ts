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
  logs: "/v1/agent/logs",
  exec: "/v1/agent/exec",
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
  overlay: strictObject({
    underlayMtu: z.number().int().min(1280).max(65535).meta({ description: "MTU of the interface that reaches `addr`'s peers" }),
    capabilities: strictObject({
      vxlan: z.boolean(),
      nftables: z.boolean(),
      conntrack: z.boolean(),
      wireguard: z.enum(["kernel", "go", "none"]).meta({ description: "Kernel WireGuard, wireguard-go, or neither" }),
    }),
    wgPublicKey: z
      .string()
      .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/, "a WireGuard public key (base64 of 32 bytes)")
      .optional()
      .meta({ description: "The host's WireGuard public key; its private key never leaves the host" }),
  })
    .optional()
    .meta({ description: "What the host can do for overlay networks; omitted: the host takes no part in them" }),
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
  networkIssues: z
    .array(strictObject({ networkId: z.string().max(64).optional(), peerNodeId: z.string().max(64).optional(), message: z.string().min(1).max(1024) }))
    .max(256)
    .optional()
    .meta({ description: "What the agent could not set up (a peer it cannot reach, a rule it could not apply); an empty list clears them" }),
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
  netSince: z
    .string()
    .max(128)
    .optional()
    .meta({ description: "The network document token the agent has; the answer carries `network` when it differs" }),
  waitMs: z.coerce.number().int().min(0).max(60_000).optional().meta({ description: "How long to wait for a change (default: the heartbeat period)" }),
  logSince: z
    .string()
    .max(128)
    .optional()
    .meta({ description: "The `logToken` of the log sessions the agent serves; the poll answers at once when the open sessions differ" }),
});

/** A secret's or config's bytes, sent only inside the assignment of a task on this node that refers to it. */
export const FileData = z.object({
  id: z.string(),
  name: z.string(),
  data: z.string().meta({ description: "The bytes, base64" }),
});
export type FileData = z.infer<typeof FileData>;

/** Registry credentials for an image pull: Docker's AuthConfig fields, as the engine takes them in X-Registry-Auth. */
export const RegistryAuth = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
  serveraddress: z.string().optional(),
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
    attachments: z
      .array(z.object({ networkId: z.string(), ip: z.ipv4(), aliases: z.array(z.string()) }))
      .default([])
      .meta({ description: "The task's address on each overlay network it joins (ingress included), allocated by the control plane; connect in this order, the first is the one whose node IP is the container's DNS server" }),
    secrets: z
      .array(FileData)
      .default([])
      .meta({ description: "The secrets `spec.task.secrets` refers to (by `id`), while the task is to run and has not ended; never any other. Keep them in memory only" }),
    configs: z.array(FileData).default([]).meta({ description: "The configs `spec.task.configs` refers to, on the same terms" }),
    registryAuth: RegistryAuth.optional().meta({
      description: "The service's registry credentials (--with-registry-auth), while the task is to run and has not run yet: pass them to the engine's image pull as X-Registry-Auth. Keep them in memory only, never log them",
    }),
  })
  .meta({ id: "Assignment" });
export type Assignment = z.infer<typeof Assignment>;

const Peer = z.object({
  nodeId: z.string(),
  underlay: z.ipv4().meta({ description: "The peer's `addr`: VXLAN (UDP 4789) or WireGuard (UDP 51820) goes there" }),
  nodeIp: z.ipv4().meta({ description: "The peer's address on this network" }),
  vtepMac: z.string().meta({ description: "The MAC of the peer's VXLAN device for this network" }),
  wg: z.object({ publicKey: z.string(), addr: z.ipv4(), port: z.number().int() }).optional().meta({ description: "Encrypted networks: the peer's WireGuard key, tunnel address and port" }),
});

const Endpoint = z.object({
  taskId: z.string(),
  nodeId: z.string(),
  ip: z.ipv4(),
  dnsName: z.string().meta({ description: "<service>.<slot or node>.<task id>" }),
});

/**
 * One overlay network as this host realises it (flannel-style routed VXLAN): the
 * host's own address on it, the peers that have tasks on it, a route per remote
 * task, and the services whose names and VIPs resolve and balance on it.
 */
export const OverlayNetwork = z.object({
  id: z.string(),
  name: z.string(),
  vni: z.number().int().min(1).max(16_777_215),
  subnet: z.string().meta({ description: "IPv4 CIDR" }),
  mtu: z.number().int(),
  encrypted: z.boolean(),
  internal: z.boolean(),
  ingress: z.boolean().meta({ description: "The cluster's routing-mesh network" }),
  nodeIp: z.ipv4().meta({ description: "This host's address on the network: gateway, DNS server and SNAT source of its containers" }),
  vtepMac: z.string(),
  peers: z.array(Peer),
  routes: z.array(z.object({ ip: z.ipv4(), nodeId: z.string() })).meta({ description: "Remote task addresses and the peer that holds each (assigned tasks, not only running ones)" }),
  services: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      aliases: z.array(z.string()).meta({ description: "More names for it on this network (stack short names, --network alias=)" }),
      endpointMode: z.enum(["vip", "dnsrr"]),
      vip: z.ipv4().optional(),
      ports: z.array(z.object({ protocol: z.enum(["tcp", "udp", "sctp"]), targetPort: z.number().int() })),
      endpoints: z.array(Endpoint).meta({ description: "Running (and healthy, where there is a healthcheck) tasks only" }),
    }),
  ),
});
export type OverlayNetwork = z.infer<typeof OverlayNetwork>;

/** The routing mesh: a published ingress port that answers on every node. */
export const MeshPort = z.object({
  protocol: z.enum(["tcp", "udp", "sctp"]),
  publishedPort: z.number().int(),
  targetPort: z.number().int(),
  serviceId: z.string(),
  targets: z.array(z.ipv4()).meta({ description: "Task addresses on the ingress network" }),
});
export type MeshPort = z.infer<typeof MeshPort>;

/**
 * The whole desired network state of one host: level-triggered, idempotent, no
 * deltas. The agent keeps the last one through control-plane outages.
 */
export const NetworkDocument = z
  .object({
    token: z.string().meta({ description: "Pass back as `netSince`" }),
    wg: z.object({ addr: z.ipv4(), port: z.number().int() }).optional().meta({ description: "This host's WireGuard tunnel address, when it is on an encrypted network" }),
    networks: z.array(OverlayNetwork),
    mesh: z.array(MeshPort),
  })
  .meta({ id: "NetworkDocument" });
export type NetworkDocument = z.infer<typeof NetworkDocument>;

/**
 * A log session this node is to serve (Swarm's log subscription): read these
 * tasks' containers and post their lines to `POST /v1/agent/logs`. Every
 * answer lists the open ones; a session no longer listed is over.
 */
export const LogSession = z
  .object({
    id: z.string(),
    taskIds: z.array(z.string()).meta({ description: "The session's tasks on this node" }),
    follow: z.boolean().meta({ description: "After the backlog, keep sending new lines until the session is no longer listed" }),
    tail: z.number().int().nullable().meta({ description: "Last lines per task; null: all" }),
    sinceMs: z.number().int().nullable().meta({ description: "Lines at or after this time (epoch ms); null: from the start" }),
  })
  .meta({ id: "LogSession" });
export type LogSession = z.infer<typeof LogSession>;

/** A command to run once in one of this node's task containers (shoal exec): claim it, run it, post its output and exit. */
export const ExecSession = z
  .object({ id: z.string(), taskId: z.string(), cmd: z.array(z.string()) })
  .meta({ id: "ExecSession" });
export type ExecSession = z.infer<typeof ExecSession>;

export const Assignments = HeartbeatAck.extend({
  generation: z.number().int().meta({ description: "Pass back as `since`" }),
  tasks: z.array(Assignment),
  network: NetworkDocument.optional().meta({ description: "Present when the document differs from `netSince`" }),
  logs: z.array(LogSession).default([]).meta({ description: "The log sessions this node serves now" }),
  execs: z.array(ExecSession).default([]).meta({ description: "Commands this node is to start (unclaimed ones)" }),
  ended: z
    .array(z.string())
    .default([])
    .meta({ description: "Ended tasks of this node the store still holds (its task history): keep their containers, stopped, for their logs; remove the others no task names" }),
  logToken: z.string().default("").meta({ description: "Pass back as `logSince` (it covers `logs` and `execs`)" }),
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

/** Characters of one log line an agent sends; longer lines are cut (the engine itself splits lines at 16 KiB). */
export const maxLogLineChars = 16 * 1024;
/** Lines in one log batch. */
export const maxLogBatchLines = 2000;

export const LogBatchLine = strictObject({
  taskId: TaskStatusUpdate.shape.taskId,
  stream: z.enum(["stdout", "stderr"]),
  time: z.string().max(40).regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, "an RFC 3339 time"),
  text: z.string().max(maxLogLineChars),
});

export const LogBatch = strictObject({
  sessionId: z.string().regex(/^log_[a-v0-9]{1,40}$/, "a log session id"),
  lines: z.array(LogBatchLine).max(maxLogBatchLines),
  caughtUp: z.boolean().default(false).meta({ description: "This node sent its whole backlog (not following: it is done)" }),
}).meta({ id: "LogBatch" });
export type LogBatch = z.input<typeof LogBatch>;

export const LogBatchAck = z
  .object({ open: z.boolean().meta({ description: "False: the session is over (its reader left); stop sending" }) })
  .meta({ id: "LogBatchAck" });
export type LogBatchAck = z.infer<typeof LogBatchAck>;

/** Characters of output in one exec post. */
export const maxExecOutputChars = 256 * 1024;

export const ExecReport = strictObject({
  execId: z.string().regex(/^exec_[a-v0-9]{1,40}$/, "an exec session id"),
  claim: z.boolean().default(false).meta({ description: "The first post: take the command (answered `open: false` when it was taken already)" }),
  output: z
    .array(strictObject({ stream: z.enum(["stdout", "stderr"]), data: z.string().max(maxExecOutputChars) }))
    .max(1000)
    .default([]),
  exit: strictObject({
    exitCode: z.number().int().nullable(),
    error: z.string().max(4096).optional().meta({ description: "Why the command could not run" }),
  })
    .optional()
    .meta({ description: "The last post: how the command ended" }),
}).meta({ id: "ExecReport" });
export type ExecReport = z.input<typeof ExecReport>;
