import type { ClusterRow } from "../../db/cluster.js";
import type { FileObjectRow } from "../../db/file-objects.js";
import type { NetworkRow } from "../../db/networks.js";
import type { FileObjectKind } from "../../db/schema/index.js";
import type { NodeRow } from "../../db/nodes.js";
import type { ServiceRow, ServiceTaskCounts } from "../../db/services.js";
import type { VirtualIp } from "../../db/networks.js";
import type { TaskRow } from "../../db/tasks.js";
import type {
  ContainerSpec,
  EndpointSpec,
  FileReference,
  ServiceSpec,
  TaskTemplate,
  UpdateConfig,
  UpdateStatus,
} from "../../domain/service-spec.js";
import { secretsDir } from "../../domain/service-spec.js";
import type { LogLine } from "../../domain/log-lines.js";
import type { TaskSpec } from "../../domain/task-spec.js";
import type { FileObjectRequest } from "../file-object-writes.js";
import type { NetworkRequest } from "../network-writes.js";
import { fileObjectSchemas } from "../routes/file-objects.js";
import { NetworkCreateSchema } from "../routes/networks.js";
import { isoTime } from "../schemas.js";
import { ServiceSpecSchema } from "../../protocol/service-spec-schema.js";
import { DockerFieldError, Fields } from "./lenient.js";

/**
 * The one place Docker Engine API objects become shoal's and back. Docker
 * counts durations in nanoseconds and shoal in milliseconds; Docker's ids are
 * shoal's without the kind prefix (`svc_`, `node_`, `task_`). Pure.
 */

type Json = Record<string, unknown>;

// --- ids ---

/** The id a Docker client sees: shoal's without its kind prefix (`svc_5k0c…` → `5k0c…`). */
export const dockerId = (id: string) => id.slice(id.indexOf("_") + 1);

/** What a client sent as an id or id prefix, in Docker's form: a shoal id (`svc_…`) works too. */
export const normalizeId = (ref: string) => ref.replace(/^(?:svc|node|task|net|sec|cfg)_/, "");

// --- durations ---

const nsPerMs = 1_000_000;
const toNs = (ms: number) => ms * nsPerMs;

function toMs(f: Fields, key: string): number | undefined {
  const ns = f.int(key);
  if (ns === undefined) return undefined;
  if (ns % nsPerMs !== 0) throw new DockerFieldError(f.at(key), "unsupported", `shoal keeps durations in whole milliseconds; ${ns}ns is not`);
  return ns / nsPerMs;
}

/** Docker sends "" for an enum it leaves to the default (stack deploy's `UpdateConfig.Order`). */
const enumValue = (f: Fields, key: string) => {
  const v = f.string(key);
  return v === "" ? undefined : v;
};

// --- Docker ServiceSpec → shoal ServiceSpec ---

/** shoal's fields that Docker's spec has no place for: a Docker-side update keeps what the service had. */
const shoalOnly = (current: ServiceSpec | undefined) => ({
  ...(current?.dependsOn ? { dependsOn: current.dependsOn } : {}),
  rebalance: current?.rebalance ?? false,
});

function modeFromDocker(spec: Fields) {
  const mode = spec.object("Mode");
  if (!mode) return { mode: "replicated" };
  const given = (["Replicated", "Global", "ReplicatedJob", "GlobalJob"] as const).filter((k) => mode.raw(k) !== undefined);
  if (given.length > 1)
    throw new DockerFieldError(mode.path, "invalid", `give exactly one of Replicated, Global, ReplicatedJob, GlobalJob; got ${given.join(", ")}`);
  switch (given[0]) {
    case undefined:
    case "Replicated":
      return { mode: "replicated", replicas: mode.object("Replicated")?.int("Replicas") };
    case "Global":
      mode.object("Global");
      return { mode: "global" };
    case "ReplicatedJob": {
      const job = mode.object("ReplicatedJob")!;
      return { mode: "replicated-job", maxConcurrent: job.int("MaxConcurrent"), replicas: job.int("TotalCompletions") };
    }
    case "GlobalJob":
      mode.object("GlobalJob");
      return { mode: "global-job" };
  }
}

function mountFromDocker(m: Fields) {
  const type = enumValue(m, "Type");
  m.only("Type", type, ["bind", "volume", "tmpfs"], "no npipe or cluster volumes");
  m.only("Consistency", enumValue(m, "Consistency"), ["default"], "the engine's default consistency only");
  m.refuse("BindOptions", "bind options");
  m.refuse("VolumeOptions", "volume options");
  m.refuse("ClusterOptions", "cluster volumes");
  const tmpfs = m.object("TmpfsOptions");
  tmpfs?.refuse("Mode", "tmpfs modes");
  tmpfs?.refuse("Options", "tmpfs options");
  return {
    type,
    source: m.string("Source"),
    target: m.string("Target"),
    readOnly: m.bool("ReadOnly"),
    tmpfsSizeBytes: tmpfs?.int("SizeBytes"),
  };
}

function healthcheckFromDocker(h: Fields | undefined) {
  if (!h) return undefined;
  h.refuse("StartInterval", "a start interval");
  const test = h.strings("Test");
  const timings = { intervalMs: toMs(h, "Interval"), timeoutMs: toMs(h, "Timeout"), retries: h.int("Retries"), startPeriodMs: toMs(h, "StartPeriod") };
  if (!test?.length) {
    if (Object.values(timings).some((v) => v)) h.refuse("Interval", "changing the image's healthcheck timings without its Test; give Test as well");
    return undefined;
  }
  return { test, ...timings };
}

function containerFromDocker(c: Fields) {
  c.refuse("Groups", "supplementary groups");
  c.refuse("Privileges", "credential specs, SELinux, AppArmor and seccomp options");
  c.refuse("OpenStdin", "stdin");
  c.refuse("Sysctls", "sysctls");
  c.refuse("Ulimits", "ulimits");
  c.refuse("OomScoreAdj", "OOM score adjustment");
  c.only("Isolation", enumValue(c, "Isolation"), ["default"], "Linux containers only");
  const dns = c.object("DNSConfig");
  return {
    image: c.string("Image"),
    command: c.strings("Command"),
    args: c.strings("Args"),
    env: c.strings("Env"),
    labels: c.stringMap("Labels"),
    user: c.string("User"),
    workdir: c.string("Dir"),
    hostname: c.string("Hostname"),
    mounts: c.objects("Mounts")?.map(mountFromDocker),
    healthcheck: healthcheckFromDocker(c.object("Healthcheck")),
    stopGracePeriodMs: toMs(c, "StopGracePeriod"),
    stopSignal: c.string("StopSignal"),
    init: c.bool("Init"),
    tty: c.bool("TTY"),
    readOnly: c.bool("ReadOnly"),
    capAdd: c.strings("CapabilityAdd"),
    capDrop: c.strings("CapabilityDrop"),
    dns: dns ? { nameservers: dns.strings("Nameservers"), search: dns.strings("Search"), options: dns.strings("Options") } : undefined,
    hosts: c.strings("Hosts"),
  };
}

/** A user or group id as Docker's FileTarget gives it: a decimal string. */
function ownerIdFromDocker(file: Fields, key: string): number | undefined {
  const raw = file.string(key);
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,10}$/.test(raw)) throw new DockerFieldError(file.at(key), "invalid", `expected a numeric id such as "0", got ${JSON.stringify(raw.slice(0, 20))}`);
  return Number(raw);
}

/** ContainerSpec.Secrets / Configs → shoal's references: by name when given (stack deploy gives both), else by id. */
function fileReferencesFromDocker(list: Fields[] | undefined, kind: "Secret" | "Config") {
  return list?.map((r) => {
    // Runtime (even empty) makes a config a credential spec, not a file.
    if (r.raw("Runtime") !== undefined) throw new DockerFieldError(r.at("Runtime"), "unsupported", "not supported by shoal (credential-spec configs); give File");
    const name = r.string(`${kind}Name`);
    const id = r.string(`${kind}ID`);
    if (!name && !id) throw new DockerFieldError(r.at(`${kind}Name`), "invalid", `required: give ${kind}Name or ${kind}ID`);
    const file = r.object("File");
    return {
      source: name || `${kind === "Secret" ? "sec" : "cfg"}_${normalizeId(id!)}`,
      target: file?.string("Name"),
      uid: file && ownerIdFromDocker(file, "UID"),
      gid: file && ownerIdFromDocker(file, "GID"),
      mode: file?.int("Mode"),
    };
  });
}

function networksFromDocker(list: Fields[] | undefined) {
  return list?.map((n) => {
    n.refuse("DriverOpts", "network driver options");
    return { target: n.string("Target"), aliases: n.strings("Aliases") };
  });
}

function taskFromDocker(t: Fields, spec: Fields, current: ServiceSpec | undefined) {
  t.refuse("PluginSpec", "plugin services");
  t.refuse("NetworkAttachmentSpec", "network attachment tasks");
  t.only("Runtime", enumValue(t, "Runtime"), ["container"], "container tasks only");
  const container = t.object("ContainerSpec");
  const resources = t.object("Resources");
  const limits = resources?.object("Limits");
  const reservations = resources?.object("Reservations");
  reservations?.refuse("GenericResources", "generic resources");
  const restart = t.object("RestartPolicy");
  const placement = t.object("Placement");
  const logDriver = t.object("LogDriver");
  // Docker moves the deprecated top-level Networks into the task template.
  const networks = networksFromDocker(t.objects("Networks")) ?? networksFromDocker(spec.objects("Networks"));
  return {
    container: container ? containerFromDocker(container) : undefined,
    resources: {
      limits: { nanoCpus: limits?.int("NanoCPUs"), memoryBytes: limits?.int("MemoryBytes"), pids: limits?.int("Pids") },
      reservations: { nanoCpus: reservations?.int("NanoCPUs"), memoryBytes: reservations?.int("MemoryBytes") },
    },
    restartPolicy: {
      condition: restart && enumValue(restart, "Condition"),
      delayMs: restart && toMs(restart, "Delay"),
      maxAttempts: restart?.int("MaxAttempts"),
      windowMs: restart && toMs(restart, "Window"),
    },
    placement: {
      constraints: placement?.strings("Constraints"),
      preferences: placement?.objects("Preferences")?.map((p) => {
        const spread = p.object("Spread");
        if (!spread) throw new DockerFieldError(p.path, "invalid", "expected {\"Spread\": {\"SpreadDescriptor\": …}}, the one kind of preference");
        return { spread: spread.string("SpreadDescriptor") };
      }),
      maxReplicasPerNode: placement?.int("MaxReplicas"),
      platforms: placement?.objects("Platforms")?.map((p) => ({ os: p.string("OS"), architecture: p.string("Architecture") })),
    },
    networks,
    ...(logDriver ? { logDriver: { name: logDriver.string("Name"), options: logDriver.stringMap("Options") } } : {}),
    ...(current?.task.strategy ? { strategy: current.task.strategy } : {}),
    // Docker keeps them in the container spec, shoal beside it.
    secrets: fileReferencesFromDocker(container?.objects("Secrets"), "Secret"),
    configs: fileReferencesFromDocker(container?.objects("Configs"), "Config"),
    forceUpdate: t.int("ForceUpdate"),
  };
}

function updateConfigFromDocker(u: Fields | undefined) {
  if (!u) return undefined;
  return {
    parallelism: u.int("Parallelism"),
    delayMs: toMs(u, "Delay"),
    failureAction: enumValue(u, "FailureAction"),
    monitorMs: toMs(u, "Monitor"),
    maxFailureRatio: u.number("MaxFailureRatio"),
    order: enumValue(u, "Order"),
  };
}

function endpointFromDocker(e: Fields | undefined) {
  if (!e) return undefined;
  return {
    mode: enumValue(e, "Mode"),
    ports: e.objects("Ports")?.map((p) => {
      p.refuse("Name", "port names");
      const published = p.int("PublishedPort");
      return {
        protocol: enumValue(p, "Protocol"),
        targetPort: p.int("TargetPort"),
        // 0: let the control plane pick one, as Swarm does.
        publishedPort: published === 0 ? undefined : published,
        publishMode: enumValue(p, "PublishMode"),
      };
    }),
  };
}

/** shoal's spec field (`task.container.workdir`) → Docker's (`TaskTemplate.ContainerSpec.Dir`), for error messages. */
type Names = { [field: string]: string | [string, Names] };
const healthcheckNames: Names = { test: "Test", intervalMs: "Interval", timeoutMs: "Timeout", retries: "Retries", startPeriodMs: "StartPeriod" };
const updateNames: Names = {
  parallelism: "Parallelism",
  delayMs: "Delay",
  failureAction: "FailureAction",
  monitorMs: "Monitor",
  maxFailureRatio: "MaxFailureRatio",
  order: "Order",
};
const specNames: Names = {
  name: "Name",
  labels: "Labels",
  mode: "Mode",
  replicas: "Mode.Replicated.Replicas",
  maxConcurrent: "Mode.ReplicatedJob.MaxConcurrent",
  task: [
    "TaskTemplate",
    {
      container: [
        "ContainerSpec",
        {
          image: "Image",
          command: "Command",
          args: "Args",
          env: "Env",
          labels: "Labels",
          user: "User",
          workdir: "Dir",
          hostname: "Hostname",
          mounts: ["Mounts", { type: "Type", source: "Source", target: "Target", readOnly: "ReadOnly", tmpfsSizeBytes: "TmpfsOptions.SizeBytes" }],
          healthcheck: ["Healthcheck", healthcheckNames],
          stopGracePeriodMs: "StopGracePeriod",
          stopSignal: "StopSignal",
          init: "Init",
          tty: "TTY",
          readOnly: "ReadOnly",
          capAdd: "CapabilityAdd",
          capDrop: "CapabilityDrop",
          dns: ["DNSConfig", { nameservers: "Nameservers", search: "Search", options: "Options" }],
          hosts: "Hosts",
        },
      ],
      resources: [
        "Resources",
        {
          limits: ["Limits", { nanoCpus: "NanoCPUs", memoryBytes: "MemoryBytes", pids: "Pids" }],
          reservations: ["Reservations", { nanoCpus: "NanoCPUs", memoryBytes: "MemoryBytes" }],
        },
      ],
      restartPolicy: ["RestartPolicy", { condition: "Condition", delayMs: "Delay", maxAttempts: "MaxAttempts", windowMs: "Window" }],
      placement: [
        "Placement",
        {
          constraints: "Constraints",
          preferences: ["Preferences", { spread: "Spread.SpreadDescriptor" }],
          maxReplicasPerNode: "MaxReplicas",
          platforms: ["Platforms", { os: "OS", architecture: "Architecture" }],
        },
      ],
      networks: ["Networks", { target: "Target", aliases: "Aliases" }],
      secrets: ["ContainerSpec.Secrets", { source: "SecretName", target: "File.Name", uid: "File.UID", gid: "File.GID", mode: "File.Mode" }],
      configs: ["ContainerSpec.Configs", { source: "ConfigName", target: "File.Name", uid: "File.UID", gid: "File.GID", mode: "File.Mode" }],
      logDriver: ["LogDriver", { name: "Name", options: "Options" }],
      forceUpdate: "ForceUpdate",
    },
  ],
  endpoint: ["EndpointSpec", { mode: "Mode", ports: ["Ports", { protocol: "Protocol", targetPort: "TargetPort", publishedPort: "PublishedPort", publishMode: "PublishMode" }] }],
  update: ["UpdateConfig", updateNames],
  rollback: ["RollbackConfig", updateNames],
};

/** `task.container.mounts.0.target` → `TaskTemplate.ContainerSpec.Mounts.0.Target`; indexes and unknown names pass through. */
export function dockerFieldPath(shoalPath: string): string {
  let names: Names | undefined = specNames;
  return shoalPath
    .split(".")
    .map((segment) => {
      const entry: string | [string, Names] | undefined = names?.[segment];
      if (/^\d+$/.test(segment)) return segment;
      if (entry === undefined) {
        names = undefined;
        return segment;
      }
      if (typeof entry === "string") {
        names = undefined;
        return entry;
      }
      names = entry[1];
      return entry[0];
    })
    .join(".");
}

/**
 * A Docker ServiceSpec (as any client sends it) as the shoal spec to store.
 * `current`: the service being updated, whose shoal-only fields are kept.
 * Throws DockerFieldError for a field that is wrong or that shoal cannot
 * honour, naming it in Docker's terms.
 */
export function serviceSpecFromDocker(body: unknown, current?: ServiceSpec): ServiceSpec {
  const spec = Fields.of(body, "", "a service spec (a JSON object)");
  const template = spec.object("TaskTemplate");
  const input = {
    name: spec.string("Name"),
    labels: spec.stringMap("Labels"),
    ...modeFromDocker(spec),
    task: template ? taskFromDocker(template, spec, current) : undefined,
    endpoint: endpointFromDocker(spec.object("EndpointSpec")),
    update: updateConfigFromDocker(spec.object("UpdateConfig")),
    rollback: updateConfigFromDocker(spec.object("RollbackConfig")),
    ...shoalOnly(current),
  };
  const parsed = ServiceSpecSchema.safeParse(dropUndefined(input));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String).join(".");
  const field = path === "" ? "Spec" : dockerFieldPath(path);
  const message = issue.code === "invalid_type" && issue.input === undefined ? "required" : issue.message;
  throw new DockerFieldError(field, "invalid", message);
}

/** Absent fields take the schema's defaults: undefined leaves are removed, so zod sees them missing. */
function dropUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropUndefined);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, dropUndefined(v)]),
    );
  return value;
}

// --- shoal → Docker ---

const nonEmpty = <T>(key: string, list: T[]) => (list.length ? { [key]: list } : {});
const nonBlank = (key: string, value: string) => (value ? { [key]: value } : {});
const nonZero = (key: string, value: number) => (value ? { [key]: value } : {});

function dockerContainerSpec(c: ContainerSpec): Json {
  const dns = {
    ...nonEmpty("Nameservers", c.dns.nameservers),
    ...nonEmpty("Search", c.dns.search),
    ...nonEmpty("Options", c.dns.options),
  };
  return {
    Image: c.image,
    ...(Object.keys(c.labels).length ? { Labels: c.labels } : {}),
    ...nonEmpty("Command", c.command),
    ...nonEmpty("Args", c.args),
    ...nonBlank("Hostname", c.hostname),
    ...nonEmpty("Env", c.env),
    ...nonBlank("Dir", c.workdir),
    ...nonBlank("User", c.user),
    ...(c.tty ? { TTY: true } : {}),
    ...(c.readOnly ? { ReadOnly: true } : {}),
    ...nonEmpty(
      "Mounts",
      c.mounts.map((m) => ({
        Type: m.type,
        ...nonBlank("Source", m.source),
        Target: m.target,
        ...(m.readOnly ? { ReadOnly: true } : {}),
        ...(m.type === "tmpfs" && m.tmpfsSizeBytes ? { TmpfsOptions: { SizeBytes: m.tmpfsSizeBytes } } : {}),
      })),
    ),
    ...nonBlank("StopSignal", c.stopSignal),
    StopGracePeriod: toNs(c.stopGracePeriodMs),
    ...(c.healthcheck
      ? {
          Healthcheck: {
            Test: c.healthcheck.test,
            ...nonZero("Interval", toNs(c.healthcheck.intervalMs)),
            ...nonZero("Timeout", toNs(c.healthcheck.timeoutMs)),
            ...nonZero("Retries", c.healthcheck.retries),
            ...nonZero("StartPeriod", toNs(c.healthcheck.startPeriodMs)),
          },
        }
      : {}),
    ...nonEmpty("Hosts", c.hosts),
    ...(Object.keys(dns).length ? { DNSConfig: dns } : {}),
    Isolation: "default",
    ...(c.init ? { Init: true } : {}),
    ...nonEmpty("CapabilityAdd", c.capAdd),
    ...nonEmpty("CapabilityDrop", c.capDrop),
  };
}

/** A reference as Docker stores it: a secret's target under /run/secrets by its file name, as the docker CLI sends it. */
function dockerFileReference(r: FileReference, kind: "Secret" | "Config"): Json {
  const name = kind === "Secret" && r.target.startsWith(`${secretsDir}/`) ? r.target.slice(secretsDir.length + 1) : r.target;
  return { File: { Name: name, UID: String(r.uid), GID: String(r.gid), Mode: r.mode }, [`${kind}ID`]: dockerId(r.id), [`${kind}Name`]: r.source };
}

/** A network attachment's target: Docker's id once resolved to a network (a name stored before networks existed stays). */
const dockerNetworkTarget = (target: string) => (target.startsWith("net_") ? dockerId(target) : target);

/** A task template in Docker's shape (also a task's `Spec`). */
export function dockerTaskSpec(t: TaskTemplate): Json {
  const { limits, reservations } = t.resources;
  return {
    ContainerSpec: {
      ...dockerContainerSpec(t.container),
      ...nonEmpty("Secrets", t.secrets.map((r) => dockerFileReference(r, "Secret"))),
      ...nonEmpty("Configs", t.configs.map((r) => dockerFileReference(r, "Config"))),
    },
    Resources: {
      Limits: { ...nonZero("NanoCPUs", limits.nanoCpus), ...nonZero("MemoryBytes", limits.memoryBytes), ...nonZero("Pids", limits.pids) },
      Reservations: { ...nonZero("NanoCPUs", reservations.nanoCpus), ...nonZero("MemoryBytes", reservations.memoryBytes) },
    },
    RestartPolicy: {
      Condition: t.restartPolicy.condition,
      Delay: toNs(t.restartPolicy.delayMs),
      MaxAttempts: t.restartPolicy.maxAttempts,
      ...nonZero("Window", toNs(t.restartPolicy.windowMs)),
    },
    Placement: {
      ...nonEmpty("Constraints", t.placement.constraints),
      ...nonEmpty(
        "Preferences",
        t.placement.preferences.map((p) => ({ Spread: { SpreadDescriptor: p.spread } })),
      ),
      ...nonZero("MaxReplicas", t.placement.maxReplicasPerNode),
      ...nonEmpty(
        "Platforms",
        t.placement.platforms.map((p) => ({ Architecture: p.architecture, OS: p.os })),
      ),
    },
    ...nonEmpty(
      "Networks",
      t.networks.map((n) => ({ Target: dockerNetworkTarget(n.target), ...nonEmpty("Aliases", n.aliases) })),
    ),
    ...(t.logDriver ? { LogDriver: { Name: t.logDriver.name, ...(Object.keys(t.logDriver.options).length ? { Options: t.logDriver.options } : {}) } } : {}),
    ForceUpdate: t.forceUpdate,
    Runtime: "container",
  };
}

function dockerMode(s: ServiceSpec): Json {
  switch (s.mode) {
    case "replicated":
      return { Replicated: { Replicas: s.replicas } };
    case "global":
      return { Global: {} };
    case "replicated-job":
      return { ReplicatedJob: { MaxConcurrent: s.maxConcurrent, TotalCompletions: s.replicas } };
    case "global-job":
      return { GlobalJob: {} };
  }
}

const dockerUpdateConfig = (u: UpdateConfig): Json => ({
  Parallelism: u.parallelism,
  Delay: toNs(u.delayMs),
  FailureAction: u.failureAction,
  Monitor: toNs(u.monitorMs),
  MaxFailureRatio: u.maxFailureRatio,
  Order: u.order,
});

const dockerPorts = (e: EndpointSpec) =>
  e.ports.map((p) => ({
    Protocol: p.protocol,
    TargetPort: p.targetPort,
    ...(p.publishedPort !== undefined ? { PublishedPort: p.publishedPort } : {}),
    PublishMode: p.publishMode,
  }));

const dockerEndpointSpec = (e: EndpointSpec): Json => ({ Mode: e.mode, ...nonEmpty("Ports", dockerPorts(e)) });

/** A shoal spec as Docker's ServiceSpec; shoal-only fields (dependsOn, rebalance, strategy) are left out. */
export function dockerServiceSpec(s: ServiceSpec): Json {
  return {
    Name: s.name,
    Labels: s.labels,
    TaskTemplate: dockerTaskSpec(s.task),
    Mode: dockerMode(s),
    UpdateConfig: dockerUpdateConfig(s.update),
    RollbackConfig: dockerUpdateConfig(s.rollback),
    EndpointSpec: dockerEndpointSpec(s.endpoint),
  };
}

const dockerUpdateStatus = (u: UpdateStatus): Json => ({
  State: u.state,
  StartedAt: isoTime(u.startedAt),
  ...(u.completedAt !== undefined ? { CompletedAt: isoTime(u.completedAt) } : {}),
  Message: u.message,
});

/** A service as GET /services answers it; `counts` only with `status=true`. */
export function dockerService(s: ServiceRow, vips: VirtualIp[], counts?: ServiceTaskCounts): Json {
  return {
    ID: dockerId(s.id),
    Version: { Index: s.version },
    CreatedAt: isoTime(s.createdAt),
    UpdatedAt: isoTime(s.updatedAt),
    Spec: dockerServiceSpec(s.spec),
    ...(s.previousSpec ? { PreviousSpec: dockerServiceSpec(s.previousSpec) } : {}),
    // The ports with the numbers the control plane gave them (docker service ls reads these).
    Endpoint: {
      Spec: dockerEndpointSpec(s.spec.endpoint),
      ...nonEmpty("Ports", dockerPorts(s.spec.endpoint)),
      ...nonEmpty("VirtualIPs", vips.map((v) => ({ NetworkID: dockerId(v.networkId), Addr: v.addr }))),
    },
    ...(s.updateStatus ? { UpdateStatus: dockerUpdateStatus(s.updateStatus) } : {}),
    ...(counts ? { ServiceStatus: { RunningTasks: counts.running, DesiredTasks: counts.desired, CompletedTasks: counts.completed } } : {}),
  };
}

/** A task as GET /tasks answers it; `spec`: what it runs (by its spec hash), when still stored. */
export function dockerTask(t: TaskRow, spec: TaskSpec | undefined): Json {
  const hostPorts = (spec?.endpoint.ports ?? []).filter((p) => p.publishMode === "host" && p.publishedPort !== undefined);
  return {
    ID: dockerId(t.id),
    Version: { Index: t.version },
    CreatedAt: isoTime(t.createdAt),
    UpdatedAt: isoTime(t.updatedAt),
    Labels: {},
    Spec: spec ? dockerTaskSpec(spec.task) : {},
    ServiceID: dockerId(t.serviceId),
    ...(t.slot !== null ? { Slot: t.slot } : {}),
    ...(t.nodeId !== null ? { NodeID: dockerId(t.nodeId) } : {}),
    Status: {
      Timestamp: isoTime(t.stateChangedAt),
      State: t.state,
      Message: t.stateMessage,
      ...nonBlank("Err", t.error),
      // Always there: tools dereference it unguarded; shoal does not record container ids.
      ContainerStatus: { ContainerID: "", PID: 0, ExitCode: t.exitCode ?? 0 },
      PortStatus: { ...nonEmpty("Ports", hostPorts.map((p) => ({ Protocol: p.protocol, TargetPort: p.targetPort, PublishedPort: p.publishedPort, PublishMode: "host" }))) },
    },
    DesiredState: t.desiredState,
  };
}

/** A node as GET /nodes answers it. */
export function dockerNode(n: NodeRow): Json {
  return {
    ID: dockerId(n.id),
    Version: { Index: n.version },
    CreatedAt: isoTime(n.createdAt),
    UpdatedAt: isoTime(n.updatedAt),
    Spec: { Labels: n.labels, Role: n.role, Availability: n.availability },
    Description: {
      Hostname: n.hostname,
      Platform: { Architecture: n.architecture, OS: n.os },
      Resources: { NanoCPUs: n.nanoCpus, MemoryBytes: n.memoryBytes },
      Engine: { EngineVersion: n.engineVersion, Labels: n.engineLabels, Plugins: [] },
    },
    Status: { State: n.state, Message: n.stateMessage, Addr: n.addr },
  };
}

/** A Docker NodeSpec (POST /nodes/{id}/update) as the change to make; absent fields stay as they are. */
export function nodeSpecFromDocker(body: unknown): { role?: "worker" | "manager"; availability?: "active" | "pause" | "drain"; labels?: Record<string, string> } {
  const spec = Fields.of(body, "", "a node spec (a JSON object)");
  spec.refuse("Name", "node names; shoal names nodes by hostname");
  const role = enumValue(spec, "Role");
  const availability = enumValue(spec, "Availability");
  if (role !== undefined && role !== "worker" && role !== "manager") throw new DockerFieldError("Role", "invalid", "worker or manager");
  if (availability !== undefined && availability !== "active" && availability !== "pause" && availability !== "drain")
    throw new DockerFieldError("Availability", "invalid", "active, pause or drain");
  const labels = spec.stringMap("Labels");
  for (const key of Object.keys(labels ?? {}))
    if (!/^[^=\s]+$/.test(key) || key.length > 255) throw new DockerFieldError(`Labels.${key}`, "invalid", 'a label key has no "=" and no whitespace');
  return { role, availability, labels };
}

/** The cluster as GET /swarm and /info's Swarm.Cluster show it; join tokens only for whoever may read them. */
export function dockerCluster(c: ClusterRow, heartbeatPeriodMs: number, joinTokens?: { worker: string; manager: string }): Json {
  return {
    ID: c.id,
    Version: { Index: c.version },
    CreatedAt: isoTime(c.createdAt),
    UpdatedAt: isoTime(c.updatedAt),
    Spec: {
      Name: "default",
      Labels: {},
      Orchestration: { TaskHistoryRetentionLimit: c.taskHistoryLimit },
      Dispatcher: { HeartbeatPeriod: toNs(heartbeatPeriodMs) },
      TaskDefaults: {},
      EncryptionConfig: { AutoLockManagers: false },
    },
    RootRotationInProgress: false,
    ...(joinTokens ? { JoinTokens: { Worker: joinTokens.worker, Manager: joinTokens.manager } } : {}),
  };
}

// --- networks, secrets and configs ---

/** A zod issue of one of shoal's request schemas, in Docker's field names. */
function schemaFailure(issues: readonly { path: PropertyKey[]; message: string; code: string; input?: unknown }[], names: Record<string, string>): DockerFieldError {
  const issue = issues[0]!;
  const [head, ...rest] = issue.path.map(String);
  const field = [names[head ?? ""] ?? head ?? "body", ...rest].join(".");
  return new DockerFieldError(field, "invalid", issue.code === "invalid_type" && issue.input === undefined ? "required" : issue.message);
}

/** A Docker NetworkCreateRequest as shoal's network request; what shoal's overlays cannot be (IPv6, ranges, config-only) is refused. */
export function networkFromDocker(body: unknown): NetworkRequest {
  const n = Fields.of(body, "", "a network (a JSON object)");
  n.refuse("EnableIPv6", "IPv6");
  n.refuse("Ingress", "a second ingress network; shoal's cluster has the one ingress");
  n.refuse("ConfigOnly", "config-only networks");
  n.refuse("ConfigFrom", "networks made from a config network");
  n.only("Scope", enumValue(n, "Scope"), ["swarm"], "networks span the swarm's hosts");
  const ipam = n.object("IPAM");
  ipam?.only("Driver", enumValue(ipam, "Driver"), ["default"], "shoal's own address management");
  ipam?.refuse("Options", "IPAM driver options");
  const configs = ipam?.objects("Config") ?? [];
  if (configs.length > 1) throw new DockerFieldError(ipam!.at("Config"), "unsupported", "one subnet per network (IPv4); give at most one Config");
  const config = configs[0];
  config?.refuse("IPRange", "address ranges inside a subnet");
  config?.refuse("AuxiliaryAddresses", "auxiliary addresses");
  const parsed = NetworkCreateSchema.safeParse(
    dropUndefined({
      name: n.string("Name"),
      driver: enumValue(n, "Driver"),
      subnet: config?.string("Subnet") || undefined,
      gateway: config?.string("Gateway") || undefined,
      options: n.stringMap("Options"),
      internal: n.bool("Internal"),
      attachable: n.bool("Attachable"),
      labels: n.stringMap("Labels"),
    }),
  );
  if (parsed.success) return parsed.data;
  throw schemaFailure(parsed.error.issues, {
    name: "Name",
    driver: "Driver",
    subnet: "IPAM.Config.0.Subnet",
    gateway: "IPAM.Config.0.Gateway",
    options: "Options",
    internal: "Internal",
    attachable: "Attachable",
    labels: "Labels",
  });
}

/** A network as GET /networks answers it (a swarm-scoped overlay, as a manager lists it). */
export function dockerNetwork(n: NetworkRow): Json {
  return {
    Name: n.name,
    Id: dockerId(n.id),
    Created: isoTime(n.createdAt),
    Scope: "swarm",
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: null, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: n.ingress,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: {},
    Options: { "com.docker.network.driver.overlay.vxlanid_list": String(n.vni), ...n.options },
    Labels: n.labels,
  };
}

/**
 * A Docker SecretSpec / ConfigSpec as shoal's request; external drivers and
 * templating are refused. For an update, name and data may be left out (only
 * labels change; the update refuses other changes).
 */
export function fileObjectFromDocker(body: unknown, kind: FileObjectKind): FileObjectRequest;
export function fileObjectFromDocker(body: unknown, kind: FileObjectKind, use: "update"): Partial<FileObjectRequest> & Pick<FileObjectRequest, "labels">;
export function fileObjectFromDocker(body: unknown, kind: FileObjectKind, use: "create" | "update" = "create") {
  const spec = Fields.of(body, "", `a ${kind} spec (a JSON object)`);
  spec.refuse("Driver", `external ${kind} drivers; shoal stores the data itself`);
  spec.refuse("Templating", "templated files");
  const { Create } = fileObjectSchemas(kind);
  const input = dropUndefined({ name: spec.string("Name"), data: spec.string("Data") ?? (use === "create" ? "" : undefined), labels: spec.stringMap("Labels") });
  const parsed = (use === "create" ? Create : Create.partial({ name: true, data: true })).safeParse(input);
  if (parsed.success) return parsed.data;
  throw schemaFailure(parsed.error.issues, { name: "Name", data: "Data", labels: "Labels" });
}

/** A secret or config as GET /secrets and /configs answer it: a secret never with its data. */
export function dockerFileObject(o: FileObjectRow): Json {
  return {
    ID: dockerId(o.id),
    Version: { Index: o.version },
    CreatedAt: isoTime(o.createdAt),
    UpdatedAt: isoTime(o.updatedAt),
    Spec: { Name: o.name, Labels: o.labels, ...(o.kind === "config" ? { Data: o.data } : {}) },
  };
}

// --- logs ---

/** What a Docker logs request asks to see of each line. */
export interface DockerLogOptions {
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  /** Prefix each line with the swarm context the docker CLI reads (`com.docker.swarm.node.id=…,…`). */
  details: boolean;
  /** The container has a TTY: one raw stream, no frames (dockerd does the same). */
  tty: boolean;
}

/**
 * The log records of the relay as dockerd writes service logs: per line, an
 * 8-byte frame header (stream 1 stdout, 2 stderr; big-endian length) unless
 * raw, then `[time ][details ]text\n`. Warnings and the other records have no
 * Docker form. `tasks`: who each line's task is (from the relay's first record).
 */
export function dockerLogFrames(lines: LogLine[], tasks: ReadonlyMap<string, { serviceId: string; nodeId: string }>, o: DockerLogOptions): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const line of lines) {
    if (!(line.stream === "stdout" ? o.stdout : o.stderr)) continue;
    const task = tasks.get(line.taskId);
    // Sorted by key and query-escaped, as dockerd writes the attributes.
    const details = task
      ? `com.docker.swarm.node.id=${encodeURIComponent(dockerId(task.nodeId))},com.docker.swarm.service.id=${encodeURIComponent(dockerId(task.serviceId))},com.docker.swarm.task.id=${encodeURIComponent(dockerId(line.taskId))} `
      : "";
    const payload = encoder.encode(`${o.timestamps ? `${line.time} ` : ""}${o.details ? details : ""}${line.text}\n`);
    if (!o.tty) {
      const header = new Uint8Array(8);
      header[0] = line.stream === "stdout" ? 1 : 2;
      new DataView(header.buffer).setUint32(4, payload.length);
      parts.push(header);
    }
    parts.push(payload);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
