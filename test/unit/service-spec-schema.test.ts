import { OpenAPIHono, createRoute, type z } from "@hono/zod-openapi";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ServiceSpecSchema } from "../../src/protocol/service-spec-schema.js";
import { validationError } from "../../src/http/validation.js";
import type { ServiceSpec } from "../../src/domain/service-spec.js";

type Json = Record<string, unknown>;

const minimal: Json = { name: "web", task: { container: { image: "nginx:1" } } };

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The minimal spec with `over` merged in (objects deeply, anything else replaced). */
function spec(over: Json, base: Json = minimal): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(base[k]) ? spec(v, base[k]) : v;
  return out;
}
const task = (over: Json) => spec({ task: over });
const container = (over: Json) => task({ container: over });

/** What an API user would see in the 400's `errors`. */
function errorsOf(body: unknown) {
  const result = ServiceSpecSchema.safeParse(body);
  if (result.success) throw new Error(`expected a validation error, got ${JSON.stringify(result.data)}`);
  return validationError(result.error, "json").errors ?? [];
}

const defaults: ServiceSpec = {
  name: "web",
  labels: {},
  mode: "replicated",
  replicas: 1,
  maxConcurrent: 0,
  task: {
    container: {
      image: "nginx:1",
      command: [],
      args: [],
      env: [],
      labels: {},
      user: "",
      workdir: "",
      hostname: "",
      mounts: [],
      stopGracePeriodMs: 10_000,
      stopSignal: "",
      init: false,
      tty: false,
      readOnly: false,
      capAdd: [],
      capDrop: [],
      dns: { nameservers: [], search: [], options: [] },
      hosts: [],
    },
    resources: { limits: { nanoCpus: 0, memoryBytes: 0, pids: 0 }, reservations: { nanoCpus: 0, memoryBytes: 0 } },
    restartPolicy: { condition: "any", delayMs: 5000, maxAttempts: 0, windowMs: 0 },
    placement: { constraints: [], preferences: [], maxReplicasPerNode: 0, platforms: [] },
    networks: [],
    secrets: [],
    configs: [],
    forceUpdate: 0,
  },
  endpoint: { mode: "vip", ports: [] },
  update: { parallelism: 1, delayMs: 0, failureAction: "pause", monitorMs: 5000, maxFailureRatio: 0, order: "stop-first" },
  rollback: { parallelism: 1, delayMs: 0, failureAction: "pause", monitorMs: 5000, maxFailureRatio: 0, order: "stop-first" },
  rebalance: false,
};

const full: ServiceSpec = {
  name: "batch-2",
  labels: { team: "data" },
  mode: "replicated-job",
  replicas: 10,
  maxConcurrent: 3,
  task: {
    container: {
      image: "registry.example.com/batch:2.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      command: ["/bin/batch"],
      args: ["--fast", "two words"],
      env: ["LOG_LEVEL=debug", "EMPTY=", "WITH_EQUALS=a=b"],
      labels: { "com.example.role": "worker" },
      user: "1000:1000",
      workdir: "/work",
      hostname: "batch.internal",
      mounts: [
        { type: "bind", source: "/srv/data", target: "/data", readOnly: true, tmpfsSizeBytes: 0 },
        { type: "volume", source: "cache_v1.0", target: "/cache", readOnly: false, tmpfsSizeBytes: 0 },
        { type: "volume", source: "", target: "/scratch", readOnly: false, tmpfsSizeBytes: 0 },
        { type: "tmpfs", source: "", target: "/tmp", readOnly: false, tmpfsSizeBytes: 64 * 1024 * 1024 },
      ],
      healthcheck: { test: ["CMD", "/bin/batch", "--health"], intervalMs: 10_000, timeoutMs: 2000, retries: 5, startPeriodMs: 30_000 },
      stopGracePeriodMs: 30_000,
      stopSignal: "SIGINT",
      init: true,
      tty: true,
      readOnly: true,
      capAdd: ["NET_ADMIN", "CAP_SYS_TIME"],
      capDrop: ["ALL"],
      dns: { nameservers: ["10.0.0.2", "fd00::53"], search: ["example.com"], options: ["ndots:2"] },
      hosts: ["10.0.0.5 db db.internal", "fd00::5\tdb6"],
    },
    resources: {
      limits: { nanoCpus: 2e9, memoryBytes: 512 * 1024 * 1024, pids: 100 },
      reservations: { nanoCpus: 1e6, memoryBytes: 4 * 1024 * 1024 },
    },
    restartPolicy: { condition: "on-failure", delayMs: 1000, maxAttempts: 3, windowMs: 60_000 },
    placement: {
      constraints: ["node.role==worker", "node.labels.zone != dmz"],
      preferences: [{ spread: "node.labels.zone" }, { spread: "Engine.Labels.disk" }, { spread: "node.hostname" }],
      maxReplicasPerNode: 2,
      platforms: [{ os: "linux", architecture: "x86_64" }],
    },
    networks: [
      { target: "backend", aliases: ["batch", "jobs"] },
      { target: "net_0123456789ab", aliases: [] },
    ],
    secrets: [],
    configs: [],
    strategy: "binpack",
    forceUpdate: 2,
  },
  endpoint: {
    mode: "dnsrr",
    ports: [
      { protocol: "tcp", targetPort: 8080, publishedPort: 8080, publishMode: "host" },
      { protocol: "udp", targetPort: 8080, publishedPort: 8080, publishMode: "host" },
      { protocol: "sctp", targetPort: 9000, publishMode: "host" },
    ],
  },
  update: { parallelism: 0, delayMs: 2000, failureAction: "rollback", monitorMs: 10_000, maxFailureRatio: 0.25, order: "start-first" },
  rollback: { parallelism: 2, delayMs: 500, failureAction: "continue", monitorMs: 1000, maxFailureRatio: 1, order: "start-first" },
  rebalance: false,
};

describe("ServiceSpecSchema: defaults", () => {
  it("outputs the stored spec type", () => {
    expectTypeOf<z.output<typeof ServiceSpecSchema>>().toEqualTypeOf<ServiceSpec>();
  });

  it("fills a minimal spec with Swarm's defaults", () => {
    expect(ServiceSpecSchema.parse(minimal)).toEqual(defaults);
  });

  it("keeps every field of a full spec", () => {
    expect(ServiceSpecSchema.parse(full)).toEqual(full);
  });

  it.each([
    ["replicated", {}, { replicas: 1, maxConcurrent: 0 }],
    ["replicated, scaled to 0", { replicas: 0 }, { replicas: 0, maxConcurrent: 0 }],
    ["replicated-job", { mode: "replicated-job" }, { replicas: 1, maxConcurrent: 1 }],
    ["replicated-job: completions default to maxConcurrent", { mode: "replicated-job", maxConcurrent: 4 }, { replicas: 4, maxConcurrent: 4 }],
    ["replicated-job: completions given", { mode: "replicated-job", replicas: 9 }, { replicas: 9, maxConcurrent: 1 }],
    ["global", { mode: "global" }, { replicas: 0, maxConcurrent: 0 }],
    ["global-job", { mode: "global-job" }, { replicas: 0, maxConcurrent: 0 }],
  ] as const)("%s: replicas and maxConcurrent", (_name, over, expected) => {
    expect(ServiceSpecSchema.parse(spec(over))).toMatchObject(expected);
  });

  it.each(["replicated", "global", "replicated-job", "global-job"])("a %s spec read back can be sent again unchanged", (mode) => {
    const stored = ServiceSpecSchema.parse(spec({ mode, task: { placement: { constraints: ["node.role==worker"] } } }));
    expect(ServiceSpecSchema.parse(stored)).toEqual(stored);
  });

  it("fills defaults inside list entries", () => {
    const parsed = ServiceSpecSchema.parse(
      spec({
        task: { container: { mounts: [{ target: "/data" }], healthcheck: { test: ["NONE"] } }, networks: [{ target: "backend" }] },
        endpoint: { ports: [{ targetPort: 80 }] },
      }),
    );
    expect(parsed.task.container.mounts).toEqual([{ type: "volume", source: "", target: "/data", readOnly: false, tmpfsSizeBytes: 0 }]);
    expect(parsed.task.container.healthcheck).toEqual({ test: ["NONE"], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 });
    expect(parsed.task.networks).toEqual([{ target: "backend", aliases: [] }]);
    expect(parsed.endpoint.ports).toEqual([{ protocol: "tcp", targetPort: 80, publishMode: "ingress" }]);
  });

  it.each([
    ["healthcheck CMD-SHELL", container({ healthcheck: { test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"] } })],
    ["a reservation equal to the limit", task({ resources: { limits: { memoryBytes: 8 << 20 }, reservations: { memoryBytes: 8 << 20 } } })],
    ["a reservation with no limit", task({ resources: { reservations: { nanoCpus: 8e9 } } })],
    ["dnsrr with a host-mode port", spec({ endpoint: { mode: "dnsrr", ports: [{ targetPort: 53, publishMode: "host" }] } })],
    ["the same published port for tcp and udp", spec({ endpoint: { ports: [{ targetPort: 53, publishedPort: 53 }, { targetPort: 53, publishedPort: 53, protocol: "udp" }] } })],
    ["several ingress ports without a number", spec({ endpoint: { ports: [{ targetPort: 80 }, { targetPort: 443 }] } })],
    ["maxReplicasPerNode 0 with global", spec({ mode: "global", task: { placement: { maxReplicasPerNode: 0 } } })],
    ["replicas 0 with global (what a global service stores)", spec({ mode: "global", replicas: 0 })],
    ["maxConcurrent 0 with replicated (what it stores)", spec({ maxConcurrent: 0 })],
    ["a stop signal by number", container({ stopSignal: "15" })],
  ])("accepts %s", (_name, body) => {
    expect(ServiceSpecSchema.safeParse(body).success).toBe(true);
  });
});

const long = (n: number) => "x".repeat(n);
const ports = (...p: Json[]) => spec({ endpoint: { ports: p } });

describe("ServiceSpecSchema: validation errors name the field and say what is allowed", () => {
  const rows: [string, unknown, string, RegExp][] = [
    // name and image
    ["name missing", { task: { container: { image: "nginx:1" } } }, "body.name", /^required: expected string$/],
    ["name with '.'", spec({ name: "my.web" }), "body.name", /letters, digits, '-' and '_'/],
    ["name ending in '_'", spec({ name: "web_" }), "body.name", /starting and ending with a letter or digit/],
    ["a dependency twice", spec({ dependsOn: ["db", "db"] }), "body.dependsOn.1", /^db is listed already \(dependsOn.0\)$/],
    ["a log driver without a name", task({ logDriver: { options: {} } }), "body.task.logDriver.name", /required/],
    ["name starting with '-'", spec({ name: "-web" }), "body.name", /starting and ending with a letter or digit/],
    ["name longer than 63", spec({ name: long(64) }), "body.name", /at most 63 characters/],
    ["name not a string", spec({ name: 42 }), "body.name", /a service name/],
    ["task missing", { name: "web" }, "body.task", /^required: expected object$/],
    ["image missing", { name: "web", task: { container: { env: [] } } }, "body.task.container.image", /^required: expected string$/],
    ["image empty", container({ image: "" }), "body.task.container.image", /image reference without whitespace/],
    ["image with whitespace", container({ image: "nginx 1" }), "body.task.container.image", /without whitespace/],
    ["image longer than 512", container({ image: long(513) }), "body.task.container.image", /at most 512 characters/],
    ["image upper-case", container({ image: "Nginx:1" }), "body.task.container.image", /^not an image reference: the repository name Nginx must be lower-case$/],
    ["image digest too short", container({ image: "nginx@sha256:abc" }), "body.task.container.image", /^not an image reference: the digest sha256:abc is not algorithm:hex/],
    // env, command
    ["env entry without '='", container({ env: ["A=1", "NOVALUE"] }), "body.task.container.env.1", /"KEY=value"/],
    ["env entry with an empty key", container({ env: ["=x"] }), "body.task.container.env.0", /KEY is not empty/],
    ["env key with whitespace", container({ env: ["MY VAR=x"] }), "body.task.container.env.0", /no "=" or whitespace/],
    ["env entry over 32 KiB", container({ env: [`A=${long(32 * 1024)}`] }), "body.task.container.env.0", /at most 32768 characters/],
    ["more than 1000 env entries", container({ env: Array.from({ length: 1001 }, (_, i) => `V${i}=1`) }), "body.task.container.env", /at most 1000 entries/],
    ["command entry over 32 KiB", container({ command: [long(32 * 1024 + 1)] }), "body.task.container.command.0", /at most 32768 characters/],
    ["args entry not a string", container({ args: ["-v", 3] }), "body.task.container.args.1", /expected string/],
    // mounts
    ["mount target relative", container({ mounts: [{ target: "data" }] }), "body.task.container.mounts.0.target", /absolute path in the container/],
    ["mount target /", container({ mounts: [{ target: "/" }] }), "body.task.container.mounts.0.target", /other than \//],
    ["mount target missing", container({ mounts: [{ type: "tmpfs" }] }), "body.task.container.mounts.0.target", /^required/],
    ["bind mount without a source", container({ mounts: [{ type: "bind", target: "/data" }] }), "body.task.container.mounts.0.source", /absolute host path/],
    ["bind mount with a relative source", container({ mounts: [{ type: "bind", source: "./data", target: "/data" }] }), "body.task.container.mounts.0.source", /absolute host path/],
    ["volume source not a volume name", container({ mounts: [{ type: "volume", source: "my vol", target: "/data" }] }), "body.task.container.mounts.0.source", /a volume name .* or empty for an anonymous volume/],
    ["volume source that is a path", container({ mounts: [{ source: "/srv/data", target: "/data" }] }), "body.task.container.mounts.0.source", /a volume name/],
    ["tmpfs with a source", container({ mounts: [{ type: "tmpfs", source: "x", target: "/tmp" }] }), "body.task.container.mounts.0.source", /tmpfs mount has no source/],
    ["tmpfs size on a volume", container({ mounts: [{ target: "/data", tmpfsSizeBytes: 1024 }] }), "body.task.container.mounts.0.tmpfsSizeBytes", /only tmpfs mounts have a size/],
    ["unknown mount type", container({ mounts: [{ type: "nfs", target: "/data" }] }), "body.task.container.mounts.0.type", /"bind"\|"volume"\|"tmpfs"/],
    ["two mounts on one target", container({ mounts: [{ target: "/data" }, { type: "tmpfs", target: "/data" }] }), "body.task.container.mounts.1.target", /duplicate mount point \/data \(mounts\.0/],
    // healthcheck
    ["healthcheck test empty", container({ healthcheck: { test: [] } }), "body.task.container.healthcheck.test", /starts with "NONE", "CMD" or "CMD-SHELL"/],
    ["healthcheck test missing", container({ healthcheck: {} }), "body.task.container.healthcheck.test", /^required: expected array$/],
    ["healthcheck test kind unknown", container({ healthcheck: { test: ["curl", "-f"] } }), "body.task.container.healthcheck.test.0", /starts with "NONE", "CMD" or "CMD-SHELL"/],
    ["healthcheck NONE with arguments", container({ healthcheck: { test: ["NONE", "x"] } }), "body.task.container.healthcheck.test", /"NONE" takes nothing after it/],
    ["healthcheck CMD-SHELL without a command", container({ healthcheck: { test: ["CMD-SHELL"] } }), "body.task.container.healthcheck.test", /exactly one command string/],
    ["healthcheck CMD-SHELL with two strings", container({ healthcheck: { test: ["CMD-SHELL", "curl", "-f"] } }), "body.task.container.healthcheck.test", /exactly one command string/],
    ["healthcheck CMD without a program", container({ healthcheck: { test: ["CMD"] } }), "body.task.container.healthcheck.test", /"CMD" takes the program and its arguments/],
    ["healthcheck interval negative", container({ healthcheck: { test: ["NONE"], intervalMs: -1 } }), "body.task.container.healthcheck.intervalMs", /milliseconds, an integer from 0/],
    ["healthcheck timeout fractional", container({ healthcheck: { test: ["NONE"], timeoutMs: 1.5 } }), "body.task.container.healthcheck.timeoutMs", /milliseconds, an integer/],
    ["healthcheck start period as text", container({ healthcheck: { test: ["NONE"], startPeriodMs: "30s" } }), "body.task.container.healthcheck.startPeriodMs", /milliseconds/],
    ["healthcheck retries negative", container({ healthcheck: { test: ["NONE"], retries: -1 } }), "body.task.container.healthcheck.retries", /an integer from 0/],
    // other container fields
    ["capability in lower case", container({ capAdd: ["net_admin"] }), "body.task.container.capAdd.0", /"NET_ADMIN" or "CAP_NET_ADMIN", or "ALL"/],
    ["capability with whitespace", container({ capDrop: ["ALL", "SYS ADMIN"] }), "body.task.container.capDrop.1", /a capability like/],
    ["hosts entry with the name first", container({ hosts: ["db 10.0.0.5"] }), "body.task.container.hosts.0", /"IP hostname \[alias…\]"/],
    ["hosts entry without a name", container({ hosts: ["10.0.0.5"] }), "body.task.container.hosts.0", /\/etc\/hosts line/],
    ["hosts entry with a bad IPv4", container({ hosts: ["10.0.0.5 ok", "300.1.1.1 db"] }), "body.task.container.hosts.1", /IPv4 or IPv6/],
    ["nameserver not an IP", container({ dns: { nameservers: ["8.8.8"] } }), "body.task.container.dns.nameservers.0", /^an IPv4 or IPv6 address$/],
    ["dns search not a domain", container({ dns: { search: ["bad domain"] } }), "body.task.container.dns.search.0", /a domain name/],
    ["dns option with whitespace", container({ dns: { options: ["ndots: 2"] } }), "body.task.container.dns.options.0", /resolver option/],
    ["workdir relative", container({ workdir: "app" }), "body.task.container.workdir", /an absolute path/],
    ["hostname with '_'", container({ hostname: "bad_host" }), "body.task.container.hostname", /a hostname/],
    ["user with whitespace", container({ user: "web user" }), "body.task.container.user", /a user name or id/],
    ["stop signal in lower case", container({ stopSignal: "sigterm" }), "body.task.container.stopSignal", /"SIGTERM", "TERM" or "15"/],
    ["stop grace period negative", container({ stopGracePeriodMs: -5 }), "body.task.container.stopGracePeriodMs", /milliseconds/],
    ["stop grace period too long for a timer", container({ stopGracePeriodMs: 2 ** 31 }), "body.task.container.stopGracePeriodMs", /from 0 to 2147483647/],
    // resources
    ["CPU limit under 0.001 CPU", task({ resources: { limits: { nanoCpus: 999_999 } } }), "body.task.resources.limits.nanoCpus", /0 \(none\) or at least 1000000 \(0\.001 CPU\)/],
    ["CPU reservation under 0.001 CPU", task({ resources: { reservations: { nanoCpus: 500 } } }), "body.task.resources.reservations.nanoCpus", /at least 1000000/],
    ["memory limit under 4 MiB", task({ resources: { limits: { memoryBytes: 1 << 20 } } }), "body.task.resources.limits.memoryBytes", /0 \(none\) or at least 4194304 \(4 MiB\)/],
    ["memory reservation under 4 MiB", task({ resources: { reservations: { memoryBytes: (4 << 20) - 1 } } }), "body.task.resources.reservations.memoryBytes", /4 MiB/],
    ["CPUs as a fraction", task({ resources: { limits: { nanoCpus: 1.5 } } }), "body.task.resources.limits.nanoCpus", /nano-CPUs \(CPUs × 10⁹\), an integer/],
    ["pids limit negative", task({ resources: { limits: { pids: -1 } } }), "body.task.resources.limits.pids", /an integer from 0/],
    ["pids reserved (there is no such reservation)", task({ resources: { reservations: { pids: 10 } } }), "body.task.resources.reservations.pids", /unknown field; allowed fields: nanoCpus, memoryBytes$/],
    ["CPU reservation over the limit", task({ resources: { limits: { nanoCpus: 1e9 }, reservations: { nanoCpus: 2e9 } } }), "body.task.resources.reservations.nanoCpus", /at most the limit \(limits\.nanoCpus is 1000000000\)/],
    ["memory reservation over the limit", task({ resources: { limits: { memoryBytes: 8 << 20 }, reservations: { memoryBytes: 16 << 20 } } }), "body.task.resources.reservations.memoryBytes", /at most the limit/],
    // restart policy
    ["restart condition unknown", task({ restartPolicy: { condition: "always" } }), "body.task.restartPolicy.condition", /"none"\|"on-failure"\|"any"/],
    ["restart delay negative", task({ restartPolicy: { delayMs: -1 } }), "body.task.restartPolicy.delayMs", /milliseconds/],
    ["restart attempts fractional", task({ restartPolicy: { maxAttempts: 2.5 } }), "body.task.restartPolicy.maxAttempts", /an integer/],
    ["restart window negative", task({ restartPolicy: { windowMs: -1 } }), "body.task.restartPolicy.windowMs", /milliseconds/],
    // placement
    ["constraint with a single '='", task({ placement: { constraints: ["node.role==worker", "node.role=manager"] } }), "body.task.placement.constraints.1", /constraint "node\.role=manager" is not key==value or key!=value/],
    ["constraint empty", task({ placement: { constraints: [""] } }), "body.task.placement.constraints.0", /constraint "" is not key==value/],
    ["more than 1000 constraints", task({ placement: { constraints: Array.from({ length: 1001 }, () => "node.role==worker") } }), "body.task.placement.constraints", /at most 1000 entries/],
    ["spread over nothing", task({ placement: { preferences: [{ spread: "" }] } }), "body.task.placement.preferences.0.spread", /what to spread over: "node\.labels\.<name>"/],
    ["spread over a label prefix without a name", task({ placement: { preferences: [{ spread: "node.labels." }] } }), "body.task.placement.preferences.0.spread", /what to spread over/],
    ["spread over a bare word", task({ placement: { preferences: [{ spread: "zone" }] } }), "body.task.placement.preferences.0.spread", /node\.hostname/],
    ["preference without spread", task({ placement: { preferences: [{}] } }), "body.task.placement.preferences.0.spread", /^required: expected string$/],
    ["maxReplicasPerNode negative", task({ placement: { maxReplicasPerNode: -1 } }), "body.task.placement.maxReplicasPerNode", /an integer from 0 to 100000/],
    ["platform OS empty", task({ placement: { platforms: [{ os: "", architecture: "arm64" }] } }), "body.task.placement.platforms.0.os", /an OS, like "linux"/],
    ["platform architecture missing", task({ placement: { platforms: [{ os: "linux" }] } }), "body.task.placement.platforms.0.architecture", /^required: expected string$/],
    // networks, strategy
    ["network target empty", task({ networks: [{ target: "" }] }), "body.task.networks.0.target", /a network name or id/],
    ["network attached twice", task({ networks: [{ target: "backend" }, { target: "front" }, { target: "backend", aliases: ["x"] }] }), "body.task.networks.2.target", /network backend is attached already \(networks\.0\)/],
    ["network alias empty", task({ networks: [{ target: "backend", aliases: [""] }] }), "body.task.networks.0.aliases.0", /a DNS alias/],
    ["strategy unknown", task({ strategy: "fill" }), "body.task.strategy", /"spread"\|"binpack"\|"random"/],
    ["forceUpdate negative", task({ forceUpdate: -1 }), "body.task.forceUpdate", />=0/],
    // endpoint
    ["target port 0", ports({ targetPort: 0 }), "body.endpoint.ports.0.targetPort", /a port number, an integer from 1 to 65535/],
    ["target port above 65535", ports({ targetPort: 65536 }), "body.endpoint.ports.0.targetPort", /1 to 65535/],
    ["target port missing", ports({ publishedPort: 80 }), "body.endpoint.ports.0.targetPort", /^required: expected number$/],
    ["published port above 65535", ports({ targetPort: 80, publishedPort: 70000 }), "body.endpoint.ports.0.publishedPort", /1 to 65535/],
    ["protocol unknown", ports({ targetPort: 80, protocol: "icmp" }), "body.endpoint.ports.0.protocol", /"tcp"\|"udp"\|"sctp"/],
    ["publish mode unknown", ports({ targetPort: 80, publishMode: "local" }), "body.endpoint.ports.0.publishMode", /"ingress"\|"host"/],
    ["endpoint mode unknown", spec({ endpoint: { mode: "round-robin" } }), "body.endpoint.mode", /"vip"\|"dnsrr"/],
    [
      "dnsrr with an ingress port",
      spec({ endpoint: { mode: "dnsrr", ports: [{ targetPort: 53, publishMode: "host" }, { targetPort: 80 }] } }),
      "body.endpoint.ports.1.publishMode",
      /^endpoint mode dnsrr cannot publish ports through the routing mesh; use publishMode host$/,
    ],
    [
      "a published port and protocol twice",
      ports({ targetPort: 80, publishedPort: 8080 }, { targetPort: 81, publishedPort: 8080, protocol: "udp" }, { targetPort: 82, publishedPort: 8080, publishMode: "host" }),
      "body.endpoint.ports.2.publishedPort",
      /published port 8080\/tcp is already published by ports\.0/,
    ],
    // mode
    ["mode unknown", spec({ mode: "daemon" }), "body.mode", /"replicated"\|"global"\|"replicated-job"\|"global-job"/],
    ["replicas with global", spec({ mode: "global", replicas: 3 }), "body.replicas", /^replicas only applies to replicated and replicated-job modes$/],
    ["replicas with global-job", spec({ mode: "global-job", replicas: 1 }), "body.replicas", /^replicas only applies to replicated and replicated-job modes$/],
    ["maxConcurrent with replicated", spec({ maxConcurrent: 2 }), "body.maxConcurrent", /^maxConcurrent only applies to replicated-job mode$/],
    ["maxConcurrent with global-job", spec({ mode: "global-job", maxConcurrent: 2 }), "body.maxConcurrent", /only applies to replicated-job mode/],
    ["maxConcurrent 0 for a replicated job", spec({ mode: "replicated-job", maxConcurrent: 0 }), "body.maxConcurrent", /at least 1/],
    ["maxReplicasPerNode with global", spec({ mode: "global", task: { placement: { maxReplicasPerNode: 1 } } }), "body.task.placement.maxReplicasPerNode", /^maxReplicasPerNode only applies to replicated and replicated-job modes$/],
    ["replicas negative", spec({ replicas: -1 }), "body.replicas", /an integer from 0 to 100000/],
    ["replicas over the limit", spec({ replicas: 100_001 }), "body.replicas", /an integer from 0 to 100000/],
    ["replicas as text", spec({ replicas: "3" }), "body.replicas", /an integer/],
    // update and rollback
    ["update parallelism negative", spec({ update: { parallelism: -1 } }), "body.update.parallelism", /an integer from 0/],
    ["update delay fractional", spec({ update: { delayMs: 1.5 } }), "body.update.delayMs", /milliseconds/],
    ["update monitor negative", spec({ update: { monitorMs: -1 } }), "body.update.monitorMs", /milliseconds/],
    ["update failure ratio above 1", spec({ update: { maxFailureRatio: 1.5 } }), "body.update.maxFailureRatio", /^a fraction from 0 to 1$/],
    ["update failure action unknown", spec({ update: { failureAction: "stop" } }), "body.update.failureAction", /"pause"\|"continue"\|"rollback"/],
    ["update order unknown", spec({ update: { order: "random" } }), "body.update.order", /"stop-first"\|"start-first"/],
    ["rollback failure action rollback", spec({ rollback: { failureAction: "rollback" } }), "body.rollback.failureAction", /"pause"\|"continue"$/],
    ["rebalance on a global service", spec({ mode: "global", rebalance: true }), "body.rebalance", /only applies to replicated mode/],
    ["rebalance not a boolean", spec({ rebalance: "yes" }), "body.rebalance", /true or false/],
    ["rollback failure ratio negative", spec({ rollback: { maxFailureRatio: -0.1 } }), "body.rollback.maxFailureRatio", /a fraction from 0 to 1/],
    // labels
    ["label key with '='", spec({ labels: { "a=b": "x" } }), "body.labels.a=b", /^bad key: a label key has no "=" and no whitespace$/],
    ["container label value too long", container({ labels: { a: long(4097) } }), "body.task.container.labels.a", /4096/],
  ];

  it.each(rows)("%s", (_name, body, path, message) => {
    const errors = errorsOf(body);
    expect(new Set(errors.map((e) => e.path))).toEqual(new Set([path]));
    expect(errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it("reports every bad field of a body at once", () => {
    const errors = errorsOf(container({ image: "", env: ["x"], mounts: [{ target: "rel" }] }));
    expect(errors.map((e) => e.path)).toEqual(["body.task.container.image", "body.task.container.env.0", "body.task.container.mounts.0.target"]);
  });
});

describe("ServiceSpecSchema: unknown fields", () => {
  it.each([
    ["top level", spec({ replocas: 3 }), "body.replocas", "name, labels, mode, replicas, maxConcurrent, task, endpoint, update, rollback, dependsOn, rebalance"],
    ["task", task({ restart_policy: {} }), "body.task.restart_policy", "container, resources, restartPolicy, placement, networks, secrets, configs, logDriver, strategy, forceUpdate"],
    ["container", container({ imagee: "x" }), "body.task.container.imagee", "image, command, args, env, labels, user, workdir, hostname, mounts, healthcheck, stopGracePeriodMs, stopSignal, init, tty, readOnly, capAdd, capDrop, dns, hosts"],
    ["a mount", container({ mounts: [{ target: "/data", src: "x" }] }), "body.task.container.mounts.0.src", "type, source, target, readOnly, tmpfsSizeBytes"],
    ["healthcheck", container({ healthcheck: { test: ["NONE"], interval: 5 } }), "body.task.container.healthcheck.interval", "test, intervalMs, timeoutMs, retries, startPeriodMs"],
    ["dns", container({ dns: { servers: [] } }), "body.task.container.dns.servers", "nameservers, search, options"],
    ["resource limits", task({ resources: { limits: { cpus: "0.5" } } }), "body.task.resources.limits.cpus", "nanoCpus, memoryBytes, pids"],
    ["a placement preference", task({ placement: { preferences: [{ spread: "node.labels.zone", binpack: true }] } }), "body.task.placement.preferences.0.binpack", "spread"],
    ["a platform", task({ placement: { platforms: [{ os: "linux", architecture: "arm64", variant: "v8" }] } }), "body.task.placement.platforms.0.variant", "os, architecture"],
    ["a network", task({ networks: [{ target: "backend", alias: "x" }] }), "body.task.networks.0.alias", "target, aliases"],
    ["a port", ports({ targetPort: 80, published: 8080 }), "body.endpoint.ports.0.published", "protocol, targetPort, publishedPort, publishMode"],
    ["update", spec({ update: { delay: 5 } }), "body.update.delay", "parallelism, delayMs, failureAction, monitorMs, maxFailureRatio, order"],
  ])("%s", (_name, body, path, allowed) => {
    expect(errorsOf(body)).toEqual([{ path, message: `unknown field; allowed fields: ${allowed}` }]);
  });
});

describe("ServiceSpecSchema: wrong types name the field", () => {
  it.each([
    ["task as a string", spec({ task: "nginx" }), "body.task", /expected object, received string/],
    ["env as a string", container({ env: "A=b" }), "body.task.container.env", /expected array, received string/],
    ["a mount as docker's short syntax", container({ mounts: ["/data:/data"] }), "body.task.container.mounts.0", /expected object, received string/],
    ["init as text", container({ init: "yes" }), "body.task.container.init", /expected boolean, received string/],
    ["healthcheck null", container({ healthcheck: null }), "body.task.container.healthcheck", /expected object, received null/],
    ["labels as a list", spec({ labels: ["a=b"] }), "body.labels", /expected record, received array/],
    ["ports as an object", spec({ endpoint: { ports: { 80: 8080 } } }), "body.endpoint.ports", /expected array, received object/],
    ["published port as text", ports({ targetPort: 80, publishedPort: "8080" }), "body.endpoint.ports.0.publishedPort", /a port number/],
    ["maxFailureRatio as text", spec({ update: { maxFailureRatio: "10%" } }), "body.update.maxFailureRatio", /a fraction from 0 to 1/],
    ["the body an array", [minimal], "body", /expected object, received array/],
  ])("%s", (_name, body, path, message) => {
    expect(errorsOf(body)).toEqual([{ path, message: expect.stringMatching(message) }]);
  });
});

describe("ServiceSpecSchema: OpenAPI", () => {
  it("is documented as named components, with only name and task required", () => {
    const app = new OpenAPIHono();
    app.openapi(
      createRoute({
        method: "post",
        path: "/v1/services",
        request: { body: { content: { "application/json": { schema: ServiceSpecSchema } } } },
        responses: { 204: { description: "ok" } },
      }),
      (c) => c.body(null, 204),
    );
    const schemas = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }).components?.schemas ?? {};
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(["ServiceSpec", "TaskTemplate", "ContainerSpec", "Mount", "Healthcheck", "Placement", "EndpointSpec", "PortConfig", "UpdateConfig", "RollbackConfig"]),
    );
    expect(schemas.ServiceSpec).toMatchObject({ required: ["name", "task"], additionalProperties: false });
    expect(schemas.ContainerSpec).toMatchObject({ required: ["image"] });
  });
});
