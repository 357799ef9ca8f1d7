import { z } from "@hono/zod-openapi";
import { imageRefProblem } from "../domain/image-ref.js";
import { schedulingStrategies, secretsDir, type FileReference } from "../domain/service-spec.js";
import { fileObjectName } from "../domain/file-object.js";
import { parseConstraint } from "../domain/constraint.js";
import {
  endpointModes,
  failureActions,
  mountTypes,
  portProtocols,
  publishModes,
  restartConditions,
  serviceModes,
  updateOrders,
  type ServiceSpec,
} from "../domain/service-spec.js";
import { strictObject } from "./schema.js";
import { Labels } from "./schema.js";

/**
 * The body that creates or replaces a service. Only `name` and
 * `task.container.image` are required; parsing applies Swarm's defaults, so
 * the output is a complete stored `ServiceSpec`.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const maxItems = 1000;
/** The same bound as `POST /v1/services/scale`. */
const maxReplicas = 100_000;
/** Longer waits overflow timers (2^31 - 1 ms, about 24.8 days); counts share the bound. */
const maxInt = 2 ** 31 - 1;
/** Sums of byte counts stay exact in a double. */
const maxBytes = 2 ** 52;

/** One message for every way a field can be wrong; a missing one keeps zod's, which validation.ts words as "required". */
const unlessMissing = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? undefined : message),
});

function integer(min: number, max: number, message: string) {
  return z.number(unlessMissing(message)).int(message).min(min, message).max(max, message);
}

const count = integer(0, maxInt, `an integer from 0 to ${maxInt}`);
const durationMs = integer(0, maxInt, `milliseconds, an integer from 0 to ${maxInt}`);
const portNumber = integer(1, 65535, "a port number, an integer from 1 to 65535");
const bytes = integer(0, maxBytes, `bytes, an integer from 0 to ${maxBytes}`);

/** A string matching `pattern`, with `message` for both a mismatch and a wrong type. */
function text(max: number, pattern: RegExp, message: string) {
  return z.string(unlessMissing(message)).max(max, `at most ${max} characters`).regex(pattern, message);
}

const list = <T extends z.ZodType>(item: T) => z.array(item).max(maxItems, `at most ${maxItems} entries`);

const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: "an IPv4 or IPv6 address" });

const dnsLabel = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const hostname = `${dnsLabel}(?:\\.${dnsLabel})*`;
const noWhitespace = /^\S+$/;

/** Refuses an entry whose key an earlier entry already has, at `<index>.<field>` (`<index>` without a field). */
function noDuplicates<T>(field: string | undefined, keyOf: (item: T) => string | undefined, message: (key: string, first: number) => string) {
  return (items: T[], ctx: z.core.$RefinementCtx<T[]>) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const key = keyOf(item);
      if (key === undefined) return;
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else ctx.addIssue({ code: "custom", path: field ? [i, field] : [i], message: message(key, first) });
    });
  };
}

// --- container ---

const volumeName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const MountSchema = strictObject({
  type: z.enum(mountTypes).default("volume"),
  source: z
    .string()
    .max(4096, "at most 4096 characters")
    .default("")
    .openapi({ description: "bind: absolute host path; volume: volume name, empty for an anonymous volume that lives and dies with the task; tmpfs: empty" }),
  target: text(4096, /^\/./, "an absolute path in the container other than /, like /data"),
  readOnly: z.boolean().default(false),
  tmpfsSizeBytes: bytes.default(0).openapi({ description: "tmpfs only; 0 = unlimited" }),
})
  .superRefine((m, ctx) => {
    const source = (message: string) => ctx.addIssue({ code: "custom", path: ["source"], message });
    if (m.type === "bind" && !m.source.startsWith("/")) source("a bind mount needs the absolute host path to mount, like /srv/data");
    if (m.type === "volume" && m.source !== "" && !volumeName.test(m.source))
      source("a volume name (letters, digits, '_', '.' and '-', starting with a letter or digit), or empty for an anonymous volume");
    if (m.type === "tmpfs" && m.source !== "") source("a tmpfs mount has no source; leave it empty");
    if (m.type !== "tmpfs" && m.tmpfsSizeBytes !== 0)
      ctx.addIssue({ code: "custom", path: ["tmpfsSizeBytes"], message: "only tmpfs mounts have a size; leave it 0" });
  })
  .openapi("Mount");

const argument = z.string().max(32 * KiB, `at most ${32 * KiB} characters`);

const HealthcheckSchema = strictObject({
  test: list(argument).openapi({
    description: '["NONE"] disables the image\'s healthcheck; ["CMD", "curl", "-f", "http://localhost/"] runs a program; ["CMD-SHELL", "curl -f http://localhost/ || exit 1"] runs a shell command',
  }),
  intervalMs: durationMs.default(0).openapi({ description: "0 = the engine's default (30 s)" }),
  timeoutMs: durationMs.default(0).openapi({ description: "0 = the engine's default (30 s)" }),
  retries: count.default(0).openapi({ description: "Consecutive failures before unhealthy; 0 = the engine's default (3)" }),
  startPeriodMs: durationMs.default(0).openapi({ description: "Failures during this time after start do not count" }),
})
  .superRefine((h, ctx) => {
    const [kind, ...rest] = h.test;
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    if (kind === "NONE") {
      if (rest.length > 0) issue(["test"], '"NONE" takes nothing after it: ["NONE"]');
    } else if (kind === "CMD-SHELL") {
      if (rest.length !== 1 || !rest[0])
        issue(["test"], '"CMD-SHELL" takes exactly one command string: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]');
    } else if (kind === "CMD") {
      if (!rest[0]) issue(["test"], '"CMD" takes the program and its arguments: ["CMD", "curl", "-f", "http://localhost/"]');
    } else issue(h.test.length > 0 ? ["test", 0] : ["test"], 'starts with "NONE", "CMD" or "CMD-SHELL"');
  })
  .openapi("Healthcheck", { description: "Omitted: the image's own healthcheck applies" });

const capability = text(64, /^(?:ALL|(?:CAP_)?[A-Z][A-Z0-9_]*)$/, 'a capability like "NET_ADMIN" or "CAP_NET_ADMIN", or "ALL"');

const hostsEntry = z
  .string()
  .max(4096, "at most 4096 characters")
  .refine((line) => {
    const [ip, ...names] = line.trim().split(/\s+/);
    return names.length > 0 && ipAddress.safeParse(ip).success;
  }, 'an /etc/hosts line "IP hostname [alias…]" with an IPv4 or IPv6 address, like "10.0.0.5 db"');

const DnsSchema = strictObject({
  nameservers: list(ipAddress).default([]),
  search: list(text(253, new RegExp(`^${hostname}$`), "a domain name, like example.com")).default([]),
  options: list(text(256, noWhitespace, 'a resolver option without whitespace, like "ndots:2"')).default([]),
}).openapi("DnsConfig");

const ContainerSpecSchema = strictObject({
  image: text(512, noWhitespace, "an image reference without whitespace, like nginx:1.27")
    .superRefine((ref, ctx) => {
      // Swarm refuses what distribution/reference does not parse; length and whitespace are the checks above's to report.
      const problem = ref.length <= 512 && noWhitespace.test(ref) ? imageRefProblem(ref) : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: `not an image reference: ${problem}` });
    })
    .openapi({ example: "nginx:1.27" }),
  command: list(argument).default([]).openapi({ description: "Replaces the image's entrypoint when non-empty" }),
  args: list(argument).default([]).openapi({ description: "Replaces the image's cmd when non-empty" }),
  env: list(
    text(32 * KiB, /^[^=\s]+=/, 'an environment variable "KEY=value"; KEY is not empty and has no "=" or whitespace'),
  )
    .default([])
    .openapi({ example: ["LOG_LEVEL=info"] }),
  labels: Labels.default({}).openapi({ description: "Container labels" }),
  user: text(256, /^\S*$/, 'a user name or id, optionally ":group", without whitespace').default("").openapi({ description: "Empty: the image's user" }),
  workdir: text(4096, /^(?:\/.*)?$/, "an absolute path, like /app").default("").openapi({ description: "Empty: the image's working directory" }),
  hostname: text(253, new RegExp(`^(?:${hostname})?$`), "a hostname: labels of letters, digits and '-' joined by '.'")
    .default("")
    .openapi({ description: "Empty: the task's container id" }),
  mounts: list(MountSchema)
    .superRefine(
      noDuplicates("target", (m) => m.target, (target, first) => `duplicate mount point ${target} (mounts.${first} mounts there already)`),
    )
    .default([]),
  healthcheck: HealthcheckSchema.optional(),
  stopGracePeriodMs: durationMs.default(10_000).openapi({ description: "Time between the stop signal and SIGKILL" }),
  stopSignal: text(32, /^(?:[A-Z][A-Z0-9+-]*|[0-9]{1,2})?$/, 'a signal name or number, like "SIGTERM", "TERM" or "15"')
    .default("")
    .openapi({ description: "Empty: the image's stop signal (SIGTERM unless it names one)" }),
  init: z.boolean().default(false).openapi({ description: "Run an init process that forwards signals and reaps zombies" }),
  tty: z.boolean().default(false),
  readOnly: z.boolean().default(false).openapi({ description: "Mount the container's root filesystem read-only" }),
  capAdd: list(capability).default([]),
  capDrop: list(capability).default([]),
  dns: DnsSchema.prefault({}),
  hosts: list(hostsEntry).default([]).openapi({ description: "Extra /etc/hosts lines", example: ["10.0.0.5 db db.internal"] }),
}).openapi("ContainerSpec");

// --- resources, restart, placement ---

const nanoCpus = integer(0, 1e15, "nano-CPUs (CPUs × 10⁹), an integer from 0 to 10¹⁵").refine(
  (n) => n === 0 || n >= 1e6,
  "0 (none) or at least 1000000 (0.001 CPU)",
);
const memoryBytes = bytes.refine(
  (n) => n === 0 || n >= 4 * MiB,
  `0 (none) or at least ${4 * MiB} (4 MiB)`,
);

const ResourcesSchema = strictObject({
  limits: strictObject({
    nanoCpus: nanoCpus.default(0),
    memoryBytes: memoryBytes.default(0),
    pids: count.default(0),
  })
    .prefault({})
    .openapi({ description: "Passed to the container; 0 = no limit" }),
  reservations: strictObject({
    nanoCpus: nanoCpus.default(0),
    memoryBytes: memoryBytes.default(0),
  })
    .prefault({})
    .openapi({ description: "What the scheduler sets aside on the node; 0 = none" }),
})
  .superRefine((r, ctx) => {
    for (const field of ["nanoCpus", "memoryBytes"] as const) {
      const limit = r.limits[field];
      if (limit > 0 && r.reservations[field] > limit)
        ctx.addIssue({ code: "custom", path: ["reservations", field], message: `at most the limit (limits.${field} is ${limit})` });
    }
  })
  .openapi("ResourceRequirements");

const RestartPolicySchema = strictObject({
  condition: z.enum(restartConditions).default("any"),
  delayMs: durationMs.default(5000).openapi({ description: "Wait before restarting a task" }),
  maxAttempts: count.default(0).openapi({ description: "Restarts allowed per slot within the window; 0 = no limit" }),
  windowMs: durationMs.default(0).openapi({ description: "The window attempts are counted in; 0 = the task's whole life" }),
}).openapi("RestartPolicy");

const constraint = z
  .string()
  .max(1024, "at most 1024 characters")
  .superRefine((expression, ctx) => {
    const parsed = parseConstraint(expression);
    if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
  });

/** Swarm spreads over node and engine labels (prefix case-insensitive); the node attributes constraints name are accepted too. */
const spreadPattern = /^(?:(?:node|engine)\.labels\.\S+|node\.(?:id|hostname|role|platform\.os|platform\.arch))$/i;
const spreadDescriptor = z
  .string()
  .max(1024, "at most 1024 characters")
  .refine(
    (d) => spreadPattern.test(d),
    'what to spread over: "node.labels.<name>", "engine.labels.<name>" or one of node.id, node.hostname, node.role, node.platform.os, node.platform.arch',
  );

const PlacementSchema = strictObject({
  constraints: list(constraint)
    .default([])
    .openapi({ description: "All must hold: key==value or key!=value", example: ["node.role==worker", "node.labels.zone!=dmz"] }),
  preferences: list(strictObject({ spread: spreadDescriptor }))
    .default([])
    .openapi({ description: "Spread tasks evenly over the values of each, in order", example: [{ spread: "node.labels.zone" }] }),
  maxReplicasPerNode: integer(0, maxReplicas, `an integer from 0 to ${maxReplicas}`)
    .default(0)
    .openapi({ description: "Replicated modes only; 0 = no limit" }),
  platforms: list(
    strictObject({
      os: text(32, noWhitespace, 'an OS, like "linux"'),
      architecture: text(32, noWhitespace, 'an architecture, like "x86_64" or "arm64"'),
    }),
  )
    .default([])
    .openapi({ description: "Nodes must match one of these; empty = any" }),
}).openapi("Placement");

const NetworkAttachmentSchema = strictObject({
  target: text(255, noWhitespace, "a network name or id"),
  aliases: list(text(255, noWhitespace, "a DNS alias without whitespace")).default([]).openapi({ description: "More names the service answers to on this network" }),
}).openapi("NetworkAttachment");

/** An absolute path's segments must be plain names: no "", "." or "..", so no target can leave the container or its directory. */
const plainSegments = (path: string) => path.split("/").slice(1).every((seg) => seg !== "" && seg !== "." && seg !== "..");

/**
 * A secret or config mounted as a file. The target becomes an absolute path:
 * a secret's default is its name under /run/secrets (a relative target is
 * under it too; an absolute one must be), a config's is /<name>.
 */
function fileReference(kind: "secret" | "config") {
  return strictObject({
    source: text(64, fileObjectName, `a ${kind} name or id: letters, digits, '_', '.' and '-'`),
    id: z.string().max(64).optional().openapi({ description: `The ${kind}'s id, filled in when the spec is written` }),
    target: text(4096, /^[^\0\n]*$/, "a path").default("").openapi({
      description: kind === "secret" ? `A file name under ${secretsDir}, or an absolute path under it; empty: the secret's name` : "An absolute path in the container; empty: /<the config's name>",
    }),
    uid: integer(0, maxInt, `a user id, an integer from 0 to ${maxInt}`).default(0),
    gid: integer(0, maxInt, `a group id, an integer from 0 to ${maxInt}`).default(0),
    mode: integer(0, 0o777, "file permission bits, an integer from 0 to 511 (0o777)").default(0o444).openapi({ description: "Permission bits; 292 = 0o444" }),
  })
    .transform((r, ctx): FileReference => {
      const given = r.target || r.source;
      const base = kind === "secret" ? secretsDir : "";
      const target = given.startsWith("/") ? given : `${base}/${given}`;
      if (!plainSegments(target) || (kind === "secret" && !target.startsWith(`${secretsDir}/`)))
        ctx.addIssue({
          code: "custom",
          path: ["target"],
          message:
            kind === "secret"
              ? `a secret's target must be a file under ${secretsDir} without '.', '..' or empty parts, not ${JSON.stringify(given)}`
              : `a config's target must be a file path in the container without '.', '..' or empty parts, not ${JSON.stringify(given)}`,
        });
      return { source: r.source, id: r.id ?? "", target, uid: r.uid, gid: r.gid, mode: r.mode };
    })
    .openapi(kind === "secret" ? "SecretReference" : "ConfigReference");
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/** A secret or config target may not share a path with another one or lie in, or hold, a mount (which would hide it or be written into). */
function checkFileTargets(t: { container: { mounts: { target: string }[] }; secrets: FileReference[]; configs: FileReference[] }, ctx: z.core.$RefinementCtx<unknown>) {
  const seen = new Map<string, string>();
  const refs = [...t.secrets.map((r, i) => ({ r, at: `secrets.${i}`, path: ["secrets", i, "target"] })), ...t.configs.map((r, i) => ({ r, at: `configs.${i}`, path: ["configs", i, "target"] }))];
  for (const { r, at, path } of refs) {
    const first = seen.get(r.target);
    const mount = t.container.mounts.findIndex((m) => inside(r.target, m.target) || inside(m.target, r.target));
    if (first !== undefined) ctx.addIssue({ code: "custom", path, message: `${r.target} is the target of ${first} already` });
    else if (mount >= 0) ctx.addIssue({ code: "custom", path, message: `${r.target} clashes with the mount at ${t.container.mounts[mount]!.target} (container.mounts.${mount})` });
    else if (t.secrets.length && at.startsWith("configs.") && (inside(r.target, secretsDir) || inside(secretsDir, r.target)))
      ctx.addIssue({ code: "custom", path, message: `${r.target} clashes with ${secretsDir}, where the service's secrets are mounted; put the config elsewhere` });
    else {
      // A file cannot also be a directory holding another one.
      const holder = refs.find((o) => o.r.target !== r.target && inside(r.target, o.r.target));
      if (holder) ctx.addIssue({ code: "custom", path, message: `${r.target} is inside ${holder.r.target}, the target of ${holder.at}` });
    }
    seen.set(r.target, first ?? at);
  }
  if (t.secrets.length) {
    const mount = t.container.mounts.findIndex((m) => inside(m.target, secretsDir));
    if (mount >= 0)
      ctx.addIssue({ code: "custom", path: ["container", "mounts", mount, "target"], message: `${secretsDir} holds the service's secrets (an in-memory mount); mount elsewhere` });
  }
}

const TaskTemplateSchema = strictObject({
  container: ContainerSpecSchema,
  resources: ResourcesSchema.prefault({}),
  restartPolicy: RestartPolicySchema.prefault({}),
  placement: PlacementSchema.prefault({}),
  networks: list(NetworkAttachmentSchema)
    .superRefine(noDuplicates("target", (n) => n.target, (target, first) => `network ${target} is attached already (networks.${first})`))
    .default([]),
  secrets: list(fileReference("secret")).default([]).openapi({ description: `Secrets as files in memory under ${secretsDir}` }),
  configs: list(fileReference("config")).default([]),
  logDriver: strictObject({
    name: text(64, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a log driver name, like "json-file" or "syslog"'),
    options: Labels.default({}).openapi({ description: "The driver's options" }),
  })
    .optional()
    .openapi({ description: "Omitted: the engine's default log driver" }),
  strategy: z.enum(schedulingStrategies).optional().openapi({ description: "Omitted: the cluster's default strategy" }),
  forceUpdate: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0)
    .openapi({ description: "Change it to redeploy every task with the spec otherwise unchanged (docker service update --force)" }),
})
  .superRefine(checkFileTargets)
  .openapi("TaskTemplate");

// --- endpoint ---

const PortConfigSchema = strictObject({
  protocol: z.enum(portProtocols).default("tcp"),
  targetPort: portNumber.openapi({ description: "The port inside the container" }),
  publishedPort: portNumber.optional().openapi({ description: "Omitted for an ingress port: one from 30000-32767 is assigned" }),
  publishMode: z
    .enum(publishModes)
    .default("ingress")
    .openapi({ description: "ingress: open on every node (routing mesh); host: only on nodes running a task" }),
}).openapi("PortConfig");

const EndpointSpecSchema = strictObject({
  mode: z.enum(endpointModes).default("vip").openapi({ description: "vip: one virtual IP balancing over the tasks; dnsrr: DNS answers with the task IPs" }),
  ports: list(PortConfigSchema)
    .superRefine(
      noDuplicates(
        "publishedPort",
        (p) => (p.publishedPort === undefined ? undefined : `${p.publishedPort}/${p.protocol}`),
        (port, first) => `published port ${port} is already published by ports.${first}`,
      ),
    )
    .default([]),
})
  .superRefine((e, ctx) => {
    if (e.mode !== "dnsrr") return;
    e.ports.forEach((p, i) => {
      if (p.publishMode === "ingress")
        ctx.addIssue({
          code: "custom",
          path: ["ports", i, "publishMode"],
          message: "endpoint mode dnsrr cannot publish ports through the routing mesh; use publishMode host",
        });
    });
  })
  .openapi("EndpointSpec");

// --- update and rollback ---

function updateConfig<A extends z.ZodType<ServiceSpec["update"]["failureAction"]>>(failureAction: A) {
  return strictObject({
    parallelism: integer(0, maxReplicas, `an integer from 0 to ${maxReplicas}`)
      .default(1)
      .openapi({ description: "Tasks replaced at once; 0 = all" }),
    delayMs: durationMs.default(0).openapi({ description: "Wait between batches" }),
    failureAction,
    monitorMs: durationMs.default(5000).openapi({ description: "How long a new task must keep running to count as updated" }),
    maxFailureRatio: z
      .number(unlessMissing("a fraction from 0 to 1"))
      .min(0, "a fraction from 0 to 1")
      .max(1, "a fraction from 0 to 1")
      .default(0)
      .openapi({ description: "Failed / updated tasks tolerated before the failure action" }),
    order: z.enum(updateOrders).default("stop-first").openapi({ description: "start-first runs the new task before stopping the old one" }),
  });
}

const UpdateConfigSchema = updateConfig(z.enum(failureActions).default("pause")).openapi("UpdateConfig");
const RollbackConfigSchema = updateConfig(
  z.enum(["pause", "continue"]).default("pause").openapi({ description: "A rollback cannot roll back" }),
).openapi("RollbackConfig");

// --- the service ---

/** Swarm's rule; '_' joins a stack's name and the compose service's (`<stack>_<service>`). */
const serviceName = /^[a-zA-Z0-9](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$/;

const isGlobal = (mode: ServiceSpec["mode"]) => mode === "global" || mode === "global-job";

const ServiceSpecFields = strictObject({
  name: text(63, serviceName, "a service name: 1-63 letters, digits, '-' and '_', starting and ending with a letter or digit")
    .openapi({ description: "Cannot change after create", example: "web" }),
  labels: Labels.default({}).openapi({ description: "Service labels" }),
  mode: z.enum(serviceModes).default("replicated").openapi({ description: "Cannot change after create" }),
  // No defaults here: they depend on the mode, and the checks below must see whether the user gave them.
  replicas: integer(0, maxReplicas, `an integer from 0 to ${maxReplicas}`)
    .optional()
    .openapi({ description: "replicated: tasks to run (default 1); replicated-job: total completions (default maxConcurrent). Global modes store 0." }),
  maxConcurrent: integer(0, maxReplicas, `an integer from 0 to ${maxReplicas}`)
    .optional()
    .openapi({ description: "replicated-job: tasks running at once (default 1). Other modes store 0." }),
  task: TaskTemplateSchema,
  endpoint: EndpointSpecSchema.prefault({}),
  update: UpdateConfigSchema.prefault({}),
  rollback: RollbackConfigSchema.prefault({}),
  dependsOn: list(text(63, serviceName, "a service name"))
    .superRefine(noDuplicates<string>(undefined, (name) => name, (name, first) => `${name} is listed already (dependsOn.${first})`))
    .optional()
    .openapi({ description: "Services whose tasks must be running (healthy, with a healthcheck) before this one's tasks are scheduled" }),
  rebalance: z
    .boolean(unlessMissing("true or false"))
    .default(false)
    .openapi({
      description:
        "replicated only: when a node returns or joins and the spread is uneven by 2 or more, move tasks onto it, the new task running before the old one stops, update.parallelism at a time. Swarm never moves tasks back.",
    }),
});

/**
 * Refuses fields the mode does not use. The value other modes store (0) is
 * accepted, so a spec read back from the API can be sent again unchanged.
 */
function checkModeFields(s: z.output<typeof ServiceSpecFields>, ctx: z.core.$RefinementCtx<z.output<typeof ServiceSpecFields>>) {
  const issue = (path: string[], message: string) => ctx.addIssue({ code: "custom", path, message });
  if (isGlobal(s.mode) && s.replicas) issue(["replicas"], "replicas only applies to replicated and replicated-job modes");
  if (s.mode === "replicated-job") {
    if (s.maxConcurrent === 0) issue(["maxConcurrent"], "at least 1: a job runs at least one task at a time");
  } else if (s.maxConcurrent) issue(["maxConcurrent"], "maxConcurrent only applies to replicated-job mode");
  if (isGlobal(s.mode) && s.task.placement.maxReplicasPerNode > 0)
    issue(["task", "placement", "maxReplicasPerNode"], "maxReplicasPerNode only applies to replicated and replicated-job modes");
  if (s.rebalance && s.mode !== "replicated") issue(["rebalance"], "rebalance only applies to replicated mode");
}

/** The mode's defaults for replicas and maxConcurrent (docker service create's). */
function withModeDefaults(s: z.output<typeof ServiceSpecFields>): ServiceSpec {
  const maxConcurrent = s.mode === "replicated-job" ? (s.maxConcurrent ?? 1) : 0;
  const replicas = s.replicas ?? { replicated: 1, "replicated-job": maxConcurrent, global: 0, "global-job": 0 }[s.mode];
  return { ...s, replicas, maxConcurrent };
}

export const ServiceSpecSchema = ServiceSpecFields.superRefine(checkModeFields)
  .transform(withModeDefaults)
  .openapi("ServiceSpec", {
    description: "A service: what to run, where and how many. Only name and task.container.image are required; the rest has Swarm's defaults.",
  });
