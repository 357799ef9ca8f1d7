import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dockerEvent } from "../../src/api/docker/events.js";
import { DockerFieldError } from "../../src/api/docker/lenient.js";
import { dockerFieldPath, dockerServiceSpec, serviceSpecFromDocker } from "../../src/api/docker/translate.js";
import { ServiceSpecSchema } from "../../src/protocol/service-spec-schema.js";
import type { ServiceSpec } from "../../src/domain/service-spec.js";
import type { EventRow } from "../../src/events/event-filter.js";

const ms = fc.integer({ min: 0, max: 600_000 });
const word = fc.constantFrom("a", "web", "api_1", "x-y");
const image = fc.constantFrom("nginx", "nginx:1.27", "ghcr.io/acme/app:1", "localhost:5000/app@sha256:" + "a".repeat(64));
const labels = fc.dictionary(fc.constantFrom("env", "com.docker.stack.namespace", "tier"), word, { maxKeys: 2 });
const updateConfig = (actions: string[]) =>
  fc.record(
    {
      parallelism: fc.integer({ min: 0, max: 10 }),
      delayMs: ms,
      failureAction: fc.constantFrom(...actions),
      monitorMs: ms,
      maxFailureRatio: fc.constantFrom(0, 0.25, 1),
      order: fc.constantFrom("stop-first", "start-first"),
    },
    { requiredKeys: [] },
  );

/** Valid shoal specs of every mode, with most optional fields present or absent. */
const shoalSpec: fc.Arbitrary<ServiceSpec> = fc
  .record(
    {
      name: fc.constantFrom("web", "st_db", "a1"),
      labels,
      mode: fc.constantFrom("replicated", "global", "replicated-job", "global-job"),
      replicas: fc.integer({ min: 0, max: 50 }),
      maxConcurrent: fc.integer({ min: 1, max: 5 }),
      task: fc.record(
        {
          container: fc.record(
            {
              image,
              command: fc.array(word, { maxLength: 2 }),
              args: fc.array(word, { maxLength: 2 }),
              env: fc.array(fc.constantFrom("A=1", "B=", "LOG=info"), { maxLength: 2 }),
              labels,
              user: fc.constantFrom("", "1000:1000"),
              workdir: fc.constantFrom("", "/app"),
              hostname: fc.constantFrom("", "box"),
              mounts: fc.constantFrom(
                [],
                [{ type: "tmpfs", target: "/tmp", tmpfsSizeBytes: 1024 }],
                [{ type: "bind", source: "/srv", target: "/data", readOnly: true }, { type: "volume", source: "v1", target: "/v" }],
              ),
              healthcheck: fc.record(
                { test: fc.constantFrom(["NONE"], ["CMD", "true"], ["CMD-SHELL", "wget -q -O- localhost"]), intervalMs: ms, timeoutMs: ms, retries: fc.nat(5), startPeriodMs: ms },
                { requiredKeys: ["test"] },
              ),
              stopGracePeriodMs: ms,
              stopSignal: fc.constantFrom("", "SIGINT"),
              init: fc.boolean(),
              tty: fc.boolean(),
              readOnly: fc.boolean(),
              capAdd: fc.constantFrom([], ["NET_ADMIN"]),
              capDrop: fc.constantFrom([], ["ALL"]),
              dns: fc.record({ nameservers: fc.constantFrom([], ["10.0.0.2"]), search: fc.constantFrom([], ["example.com"]), options: fc.constantFrom([], ["ndots:2"]) }, { requiredKeys: [] }),
              hosts: fc.constantFrom([], ["10.0.0.5 db db.internal"]),
            },
            { requiredKeys: ["image"] },
          ),
          resources: fc.record({
            limits: fc.record({ nanoCpus: fc.constantFrom(0, 2e9), memoryBytes: fc.constantFrom(0, 512 * 1024 ** 2), pids: fc.nat(100) }, { requiredKeys: [] }),
            reservations: fc.record({ nanoCpus: fc.constantFrom(0, 1e9), memoryBytes: fc.constantFrom(0, 256 * 1024 ** 2) }, { requiredKeys: [] }),
          }),
          restartPolicy: fc.record(
            { condition: fc.constantFrom("none", "on-failure", "any"), delayMs: ms, maxAttempts: fc.nat(5), windowMs: ms },
            { requiredKeys: [] },
          ),
          placement: fc.record(
            {
              constraints: fc.constantFrom([], ["node.role==worker", "node.labels.zone!=dmz"]),
              preferences: fc.constantFrom([], [{ spread: "node.labels.zone" }]),
              platforms: fc.constantFrom([], [{ os: "linux", architecture: "amd64" }]),
            },
            { requiredKeys: [] },
          ),
          networks: fc.constantFrom([], [{ target: "front", aliases: ["web"] }]),
          logDriver: fc.constantFrom({ name: "json-file", options: { "max-size": "10m" } }, { name: "syslog", options: {} }),
          strategy: fc.constantFrom("spread", "binpack"),
          forceUpdate: fc.nat(3),
        },
        { requiredKeys: ["container"] },
      ),
      endpoint: fc.record(
        {
          ports: fc.constantFrom(
            [],
            [{ targetPort: 80, publishedPort: 8080 }],
            [{ protocol: "udp", targetPort: 53, publishedPort: 5353, publishMode: "host" }],
            [{ targetPort: 443, publishMode: "host" }],
          ),
        },
        { requiredKeys: [] },
      ),
      update: updateConfig(["pause", "continue", "rollback"]),
      rollback: updateConfig(["pause", "continue"]),
      dependsOn: fc.constantFrom(["db"], ["db", "cache"]),
      rebalance: fc.boolean(),
    },
    { requiredKeys: ["name", "mode", "task"] },
  )
  .map((input) => {
    const fitted: Record<string, unknown> = { ...input };
    if (input.mode.startsWith("global")) delete fitted.replicas;
    if (input.mode !== "replicated-job") delete fitted.maxConcurrent;
    if (input.mode !== "replicated") delete fitted.rebalance;
    return ServiceSpecSchema.safeParse(fitted);
  })
  .filter((r) => r.success)
  .map((r) => r.data as ServiceSpec);

/** Every field name, at any depth, rewritten by `f`; the keys of maps (labels, options) are data and stay. */
function rekey(value: unknown, f: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rekey(v, f));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [f(k), k === "Labels" || k === "Options" ? v : rekey(v, f)]));
  return value;
}

const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** What the CLI 28 sends for `docker service create --name web --replicas 3 -p 8080:80 nginx:1.27` (captured). */
const cliCreateBody = {
  Name: "web",
  Labels: {},
  TaskTemplate: {
    ContainerSpec: {
      Image: "nginx:1.27",
      Init: false,
      StopGracePeriod: 10_000_000_000,
      DNSConfig: {},
      Isolation: "default",
      Privileges: { CredentialSpec: null, SELinuxContext: null, NoNewPrivileges: false },
      Command: null,
    },
    Resources: { Limits: {}, Reservations: {} },
    RestartPolicy: { Condition: "any", Delay: 5_000_000_000, MaxAttempts: 0 },
    Placement: {},
    ForceUpdate: 0,
    Runtime: "container",
  },
  Mode: { Replicated: { Replicas: 3 } },
  UpdateConfig: { Parallelism: 1, FailureAction: "pause", Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: "stop-first" },
  RollbackConfig: { Parallelism: 1, FailureAction: "pause", Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: "stop-first" },
  EndpointSpec: { Mode: "vip", Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "ingress" }] },
};

const refusal = (body: unknown, current?: ServiceSpec) => {
  try {
    serviceSpecFromDocker(body, current);
  } catch (err) {
    if (err instanceof DockerFieldError) return { field: err.field, kind: err.kind, message: err.message };
    throw err;
  }
  throw new Error("accepted");
};

describe("Docker ServiceSpec ⇄ shoal ServiceSpec", () => {
  it("shoal → Docker → shoal is the identity (shoal-only fields kept from the service updated)", () => {
    fc.assert(
      fc.property(shoalSpec, (spec) => {
        expect(serviceSpecFromDocker(viaJson(dockerServiceSpec(spec)), spec)).toEqual(spec);
      }),
      { numRuns: 400 },
    );
  });

  it("Docker → shoal → Docker is the identity on what Docker shows", () => {
    fc.assert(
      fc.property(shoalSpec, (spec) => {
        const docker = viaJson(dockerServiceSpec(spec));
        expect(dockerServiceSpec(serviceSpecFromDocker(docker))).toEqual(docker);
      }),
      { numRuns: 400 },
    );
  });

  it("reads keys in any case and nulls as absent, as Go's decoder does", () => {
    fc.assert(
      fc.property(shoalSpec, fc.constantFrom((k: string) => k.toLowerCase(), (k: string) => k.toUpperCase()), (spec, recase) => {
        const docker = viaJson(dockerServiceSpec(spec));
        expect(serviceSpecFromDocker(rekey(docker, recase), spec)).toEqual(spec);
      }),
      { numRuns: 200 },
    );
    const withNulls = { ...cliCreateBody, PreviousSpec: null, Networks: null, TaskTemplate: { ...cliCreateBody.TaskTemplate, LogDriver: null, Networks: null } };
    expect(serviceSpecFromDocker(withNulls)).toEqual(serviceSpecFromDocker(cliCreateBody));
  });

  it("a docker service update keeps dependsOn, rebalance and the scheduling strategy; secrets and configs go both ways", () => {
    const current = serviceSpecFromDocker(cliCreateBody);
    const secrets = [{ source: "pw", id: "sec_0123456789abcdefghij", target: "/run/secrets/pw", uid: 33, gid: 33, mode: 0o400 }];
    const configs = [{ source: "app.conf", id: "cfg_0123456789abcdefghij", target: "/etc/app.conf", uid: 0, gid: 0, mode: 0o444 }];
    const shoalSide: ServiceSpec = { ...current, dependsOn: ["db"], rebalance: true, task: { ...current.task, strategy: "binpack", secrets, configs } };
    const docker = viaJson(dockerServiceSpec(shoalSide)) as any;
    expect(docker.TaskTemplate.ContainerSpec.Secrets).toEqual([{ File: { Name: "pw", UID: "33", GID: "33", Mode: 0o400 }, SecretID: "0123456789abcdefghij", SecretName: "pw" }]);
    expect(docker.TaskTemplate.ContainerSpec.Configs).toEqual([{ File: { Name: "/etc/app.conf", UID: "0", GID: "0", Mode: 0o444 }, ConfigID: "0123456789abcdefghij", ConfigName: "app.conf" }]);
    const sentBack = { ...docker, Mode: { Replicated: { Replicas: 5 } } };
    // The id is filled in again when the spec is written (by name).
    const unresolved = (refs: typeof secrets) => refs.map((r) => ({ ...r, id: "" }));
    expect(serviceSpecFromDocker(sentBack, shoalSide)).toEqual({ ...shoalSide, replicas: 5, task: { ...shoalSide.task, secrets: unresolved(secrets), configs: unresolved(configs) } });
  });

  it("reads stack deploy's secret references, and ones by id only", () => {
    const spec = serviceSpecFromDocker({
      Name: "st_web",
      TaskTemplate: {
        ContainerSpec: {
          Image: "nginx",
          Secrets: [{ File: { Name: "db_password", UID: "0", GID: "0", Mode: 292 }, SecretID: "abc", SecretName: "st_db_password" }, { SecretID: "def" }],
          Configs: [{ File: { Name: "/etc/nginx.conf", UID: "101", GID: "101", Mode: 256 }, ConfigID: "x", ConfigName: "st_conf" }],
        },
      },
    });
    expect(spec.task.secrets.map((r) => [r.source, r.target, r.uid, r.mode])).toEqual([["st_db_password", "/run/secrets/db_password", 0, 0o444], ["sec_def", "/run/secrets/sec_def", 0, 0o444]]);
    expect(spec.task.configs.map((r) => [r.source, r.target, r.uid, r.gid, r.mode])).toEqual([["st_conf", "/etc/nginx.conf", 101, 101, 0o400]]);
  });

  it.each([
    ["the CLI's create body", cliCreateBody, { name: "web", mode: "replicated", replicas: 3, image: "nginx:1.27", ports: [{ protocol: "tcp", targetPort: 80, publishedPort: 8080, publishMode: "ingress" }] }],
    ["docker-py's lower-case mode", { Name: "web", TaskTemplate: { ContainerSpec: { Image: "nginx" } }, Mode: { replicated: { Replicas: 2 } } }, { name: "web", mode: "replicated", replicas: 2, image: "nginx", ports: [] }],
    ["dockerode's version in the body", { Name: "web", version: 11, TaskTemplate: { ContainerSpec: { Image: "nginx" } } }, { name: "web", mode: "replicated", replicas: 1, image: "nginx", ports: [] }],
    [
      "stack deploy's empty Mode and Order",
      { Name: "st_web", Labels: { "com.docker.stack.namespace": "st" }, TaskTemplate: { ContainerSpec: { Image: "nginx" } }, Mode: { Replicated: {} }, EndpointSpec: {}, UpdateConfig: { Order: "" } },
      { name: "st_web", mode: "replicated", replicas: 1, image: "nginx", ports: [] },
    ],
    ["a global service", { Name: "agent", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { Global: {} } }, { name: "agent", mode: "global", replicas: 0, image: "busybox", ports: [] }],
    [
      "a replicated job",
      { Name: "batch", TaskTemplate: { ContainerSpec: { Image: "busybox" } }, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 6 } } },
      { name: "batch", mode: "replicated-job", replicas: 6, image: "busybox", ports: [] },
    ],
    [
      "an ingress port without a number",
      { Name: "web", TaskTemplate: { ContainerSpec: { Image: "nginx" } }, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 0 }] } },
      { name: "web", mode: "replicated", replicas: 1, image: "nginx", ports: [{ protocol: "tcp", targetPort: 80, publishMode: "ingress" }] },
    ],
  ])("accepts %s", (_what, body, expected) => {
    const spec = serviceSpecFromDocker(body);
    expect({ name: spec.name, mode: spec.mode, replicas: spec.replicas, image: spec.task.container.image, ports: spec.endpoint.ports }).toEqual(expected);
  });

  it("converts durations from nanoseconds", () => {
    const spec = serviceSpecFromDocker({
      Name: "web",
      TaskTemplate: {
        ContainerSpec: { Image: "nginx", StopGracePeriod: 3e9, Healthcheck: { Test: ["CMD", "true"], Interval: 2e9, Retries: 2 } },
        RestartPolicy: { Delay: 1e9, Window: 6e10 },
      },
      UpdateConfig: { Delay: 5e8, Monitor: 0 },
    });
    expect(spec.task.container.stopGracePeriodMs).toBe(3000);
    expect(spec.task.container.healthcheck).toEqual({ test: ["CMD", "true"], intervalMs: 2000, timeoutMs: 0, retries: 2, startPeriodMs: 0 });
    expect(spec.task.restartPolicy).toMatchObject({ delayMs: 1000, windowMs: 60_000 });
    expect(spec.update).toMatchObject({ delayMs: 500, monitorMs: 0, parallelism: 1 });
  });

  const base = { Name: "web", TaskTemplate: { ContainerSpec: { Image: "nginx" } } };
  const container = (c: object) => ({ ...base, TaskTemplate: { ContainerSpec: { Image: "nginx", ...c } } });
  it.each([
    ["a secret of neither name nor id", container({ Secrets: [{ File: { Name: "x" } }] }), "TaskTemplate.ContainerSpec.Secrets.0.SecretName", "invalid"],
    ["a non-numeric secret owner", container({ Secrets: [{ SecretName: "db", File: { Name: "db", UID: "www" } }] }), "TaskTemplate.ContainerSpec.Secrets.0.File.UID", "invalid"],
    ["a credential-spec config", container({ Configs: [{ ConfigName: "c", Runtime: {}, File: null }] }), "TaskTemplate.ContainerSpec.Configs.0.Runtime", "unsupported"],
    ["a secret target outside /run/secrets", container({ Secrets: [{ SecretName: "db", File: { Name: "/etc/db" } }] }), "TaskTemplate.ContainerSpec.Secrets.0.File.Name", "invalid"],
    ["sysctls", container({ Sysctls: { "net.core.somaxconn": "1024" } }), "TaskTemplate.ContainerSpec.Sysctls", "unsupported"],
    ["a Hyper-V isolation", container({ Isolation: "hyperv" }), "TaskTemplate.ContainerSpec.Isolation", "unsupported"],
    ["volume options", container({ Mounts: [{ Type: "volume", Target: "/v", VolumeOptions: { NoCopy: true } }] }), "TaskTemplate.ContainerSpec.Mounts.0.VolumeOptions", "unsupported"],
    ["an npipe mount", container({ Mounts: [{ Type: "npipe", Target: "/v" }] }), "TaskTemplate.ContainerSpec.Mounts.0.Type", "unsupported"],
    ["generic resources", { ...base, TaskTemplate: { ...base.TaskTemplate, Resources: { Reservations: { GenericResources: [{ DiscreteResourceSpec: { Kind: "gpu", Value: 1 } }] } } } }, "TaskTemplate.Resources.Reservations.GenericResources", "unsupported"],
    ["a plugin runtime", { ...base, TaskTemplate: { ...base.TaskTemplate, Runtime: "plugin" } }, "TaskTemplate.Runtime", "unsupported"],
    ["sub-millisecond durations", container({ StopGracePeriod: 1500 }), "TaskTemplate.ContainerSpec.StopGracePeriod", "unsupported"],
    ["a named port", { ...base, EndpointSpec: { Ports: [{ Name: "http", TargetPort: 80 }] } }, "EndpointSpec.Ports.0.Name", "unsupported"],
    ["a missing image", { Name: "web", TaskTemplate: { ContainerSpec: {} } }, "TaskTemplate.ContainerSpec.Image", "invalid"],
    ["a missing name", { TaskTemplate: { ContainerSpec: { Image: "nginx" } } }, "Name", "invalid"],
    ["a number for Env", container({ Env: 3 }), "TaskTemplate.ContainerSpec.Env", "invalid"],
    ["a string for Replicas", { ...base, Mode: { Replicated: { Replicas: "3" } } }, "Mode.Replicated.Replicas", "invalid"],
    ["two modes", { ...base, Mode: { Replicated: {}, Global: {} } }, "Mode", "invalid"],
    ["an unknown restart condition", { ...base, TaskTemplate: { ...base.TaskTemplate, RestartPolicy: { Condition: "sometimes" } } }, "TaskTemplate.RestartPolicy.Condition", "invalid"],
    ["a bad env entry", container({ Env: ["=x"] }), "TaskTemplate.ContainerSpec.Env.0", "invalid"],
    ["an array body", [], "body", "invalid"],
  ])("refuses %s, naming the field", (_what, body, field, kind) => {
    expect(refusal(body)).toMatchObject({ field, kind });
  });

  it("names Docker's fields in validation errors", () => {
    expect(dockerFieldPath("task.container.workdir")).toBe("TaskTemplate.ContainerSpec.Dir");
    expect(dockerFieldPath("task.container.mounts.2.tmpfsSizeBytes")).toBe("TaskTemplate.ContainerSpec.Mounts.2.TmpfsOptions.SizeBytes");
    expect(dockerFieldPath("update.monitorMs")).toBe("UpdateConfig.Monitor");
    expect(dockerFieldPath("task.placement.preferences.0.spread")).toBe("TaskTemplate.Placement.Preferences.0.Spread.SpreadDescriptor");
    expect(dockerFieldPath("endpoint.ports.1.publishedPort")).toBe("EndpointSpec.Ports.1.PublishedPort");
  });
});

describe("events as dockerd reports them", () => {
  const at = (type: EventRow["type"], action: string, attributes: Record<string, string> = {}): EventRow => ({ id: 1, time: 1_767_225_600_123, type, action, actorId: `${type === "node" ? "node" : "svc"}_abc`, attributes });
  it.each([
    [at("node", "join", { hostname: "h1", role: "worker" }), "create", { name: "h1", role: "worker" }],
    [at("node", "down", { hostname: "h1", reason: "no heartbeat" }), "update", { name: "h1", reason: "no heartbeat", "state.new": "down" }],
    [at("node", "ready", { hostname: "h1" }), "update", { name: "h1", "state.new": "ready" }],
    [at("service", "update.completed", { name: "web" }), "update", { name: "web", "updatestate.new": "completed" }],
    [at("service", "update.rolled_back", { name: "web" }), "update", { name: "web", "updatestate.new": "rollback_started" }],
    [at("service", "rollback", { name: "web" }), "update", { name: "web", "updatestate.new": "rollback_started" }],
    [at("service", "remove", { name: "web" }), "remove", { name: "web" }],
  ])("%o → %s", (e, action, attributes) => {
    expect(dockerEvent(e)).toEqual({ Type: e.type, Action: action, Actor: { ID: "abc", Attributes: attributes }, scope: "swarm", time: 1_767_225_600, timeNano: 1_767_225_600_123_000_000 });
  });
  it("task and stack events, and shoal-only actions, have no Docker form", () => {
    expect(dockerEvent(at("task", "failed"))).toBeUndefined();
    expect(dockerEvent(at("stack", "deploy"))).toBeUndefined();
    expect(dockerEvent(at("service", "webhook.triggered"))).toBeUndefined();
  });
});
