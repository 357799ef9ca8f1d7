/**
 * The service spec as stored, with Swarm's defaults applied: what the user
 * writes (`POST /v1/services`, `PUT /v1/services/{id}`). The zod schema that
 * validates requests (src/api/service-spec-schema.ts) outputs exactly this.
 * Durations are milliseconds, CPUs nano-CPUs (1 CPU = 1e9), memory bytes.
 */

export const serviceModes = ["replicated", "global", "replicated-job", "global-job"] as const;
export type ServiceMode = (typeof serviceModes)[number];

export const restartConditions = ["none", "on-failure", "any"] as const;
export const failureActions = ["pause", "continue", "rollback"] as const;
export const updateOrders = ["stop-first", "start-first"] as const;
export const publishModes = ["ingress", "host"] as const;
export const portProtocols = ["tcp", "udp", "sctp"] as const;
export const endpointModes = ["vip", "dnsrr"] as const;
export const mountTypes = ["bind", "volume", "tmpfs"] as const;

export interface Mount {
  type: (typeof mountTypes)[number];
  /** Host path (bind), volume name (volume; empty = anonymous volume living with the task); empty for tmpfs. */
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs only: size limit in bytes, 0 = unlimited. */
  tmpfsSizeBytes: number;
}

export interface Healthcheck {
  /** ["NONE"] disables the image's healthcheck; ["CMD", ...] or ["CMD-SHELL", "cmd"]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface ContainerSpec {
  image: string;
  /** Replaces the image's entrypoint when non-empty (docker --entrypoint). */
  command: string[];
  /** Replaces the image's cmd when non-empty. */
  args: string[];
  /** "KEY=value" entries. */
  env: string[];
  labels: Record<string, string>;
  user: string;
  workdir: string;
  hostname: string;
  mounts: Mount[];
  healthcheck?: Healthcheck;
  stopGracePeriodMs: number;
  stopSignal: string;
  init: boolean;
  tty: boolean;
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  dns: { nameservers: string[]; search: string[]; options: string[] };
  /** "IP hostname [alias…]" entries, as in /etc/hosts. */
  hosts: string[];
}

export interface Resources {
  limits: { nanoCpus: number; memoryBytes: number; pids: number };
  reservations: { nanoCpus: number; memoryBytes: number };
}

export interface RestartPolicy {
  condition: (typeof restartConditions)[number];
  delayMs: number;
  /** 0 = no limit. */
  maxAttempts: number;
  /** 0 = attempts are counted over the task's whole life. */
  windowMs: number;
}

export interface Placement {
  /** "key==value" / "key!=value", all must hold (src/scheduler/constraint.ts). */
  constraints: string[];
  /** Spread tasks evenly over the values of each label, in order ("node.labels.zone"). */
  preferences: { spread: string }[];
  /** 0 = no limit. */
  maxReplicasPerNode: number;
  platforms: { os: string; architecture: string }[];
}

export const schedulingStrategies = ["spread", "binpack", "random"] as const;
export type SchedulingStrategy = (typeof schedulingStrategies)[number];

/**
 * A secret or config mounted as a file. `source` is the name the user gave and
 * `id` the stored object it resolved to when the spec was written (Docker keeps
 * both: SecretName and SecretID); `target` is the absolute path in the container.
 */
export interface FileReference {
  source: string;
  id: string;
  target: string;
  uid: number;
  gid: number;
  mode: number;
}

/** Where secrets go in the container (Docker's); a relative secret target is under it. */
export const secretsDir = "/run/secrets";

export interface TaskTemplate {
  container: ContainerSpec;
  resources: Resources;
  restartPolicy: RestartPolicy;
  placement: Placement;
  /** Network names or ids; validated references (networks themselves come later). */
  networks: { target: string; aliases: string[] }[];
  /** Secrets the container reads as files (under /run/secrets unless the target is elsewhere). */
  secrets: FileReference[];
  /** Configs the container reads as files. */
  configs: FileReference[];
  /** Omitted: the cluster's default strategy. */
  strategy?: SchedulingStrategy;
  /** The container's log driver (compose `logging`); omitted: the engine's default. */
  logDriver?: { name: string; options: Record<string, string> };
  /** A counter: changing it changes the task spec, so every task is redeployed (`update --force`). */
  forceUpdate: number;
}

export interface PortConfig {
  protocol: (typeof portProtocols)[number];
  targetPort: number;
  /** Ingress ports without one get one from 30000–32767 when created. */
  publishedPort?: number;
  publishMode: (typeof publishModes)[number];
}

export interface EndpointSpec {
  mode: (typeof endpointModes)[number];
  ports: PortConfig[];
}

export interface UpdateConfig {
  /** 0 = all at once. */
  parallelism: number;
  delayMs: number;
  failureAction: (typeof failureActions)[number];
  monitorMs: number;
  maxFailureRatio: number;
  order: (typeof updateOrders)[number];
}

/** Where a rolling update (or rollback) stands; shown in service inspect. */
export const updateStates = ["updating", "paused", "completed", "rollback_started", "rollback_paused", "rollback_completed"] as const;
export type UpdateState = (typeof updateStates)[number];

export interface UpdateStatus {
  state: UpdateState;
  message: string;
  /** Epoch ms. Tasks created since belong to this update. */
  startedAt: number;
  completedAt?: number;
}

export const isRollback = (s: UpdateStatus | null | undefined) => s?.state.startsWith("rollback_") ?? false;

export interface ServiceSpec {
  name: string;
  labels: Record<string, string>;
  mode: ServiceMode;
  /** replicated: desired tasks; replicated-job: total completions. Ignored by global modes. */
  replicas: number;
  /** replicated-job: tasks running at once. */
  maxConcurrent: number;
  task: TaskTemplate;
  endpoint: EndpointSpec;
  update: UpdateConfig;
  rollback: UpdateConfig;
  /** Services (by name) that must each have a running task before this one's tasks are scheduled (compose `depends_on`). */
  dependsOn?: string[];
  /** replicated: move tasks onto returning or new nodes when the spread is uneven (new task first). */
  rebalance: boolean;
}
