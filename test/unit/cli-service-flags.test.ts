import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Node, Service, Task } from "../../src/cli/api-types.js";
import { UsageError } from "../../src/cli/format/units.js";
import { judgeUpdateStatus, planProgress } from "../../src/cli/progress.js";
import { applyServiceUpdate, buildServiceSpec, parseMount, parsePort, shellSplit } from "../../src/cli/service-flags.js";
import { ServiceSpecSchema } from "../../src/protocol/service-spec-schema.js";
import { hashTaskSpec, taskSpecOf } from "../../src/domain/task-spec.js";
import type { ServiceSpec } from "../../src/domain/service-spec.js";

/** The spec the API would store for a request body (its own parser, defaults applied). */
const stored = (body: unknown): ServiceSpec => ServiceSpecSchema.parse(body);

describe("service create flags → spec", () => {
  it("converts docker's units and list flags into the API's fields", () => {
    const spec = buildServiceSpec("nginx:1.27", ["nginx", "-g", "daemon off;"], {
      name: "web",
      replicas: "3",
      restartDelay: "10s",
      limitMemory: "512M",
      reserveCpu: "0.5",
      updateMonitor: "1m30s",
      updateFailureAction: "rollback",
      constraint: ["node.role==worker"],
      placementPref: ["spread=node.labels.zone"],
      publish: ["8080:80", "published=53,target=53,protocol=udp,mode=host"],
      env: ["A=1"],
      label: ["tier=front", "solo"],
      mount: ["type=bind,source=/srv,target=/data,readonly"],
      healthCmd: "wget -q -O- localhost",
      healthInterval: "5s",
      host: ["db:10.0.0.5"],
      capAdd: ["NET_ADMIN"],
      init: true,
    });
    const s = stored(spec);
    expect(s).toMatchObject({
      name: "web",
      replicas: 3,
      labels: { tier: "front", solo: "" },
      update: { monitorMs: 90_000, failureAction: "rollback" },
      endpoint: {
        ports: [
          { targetPort: 80, publishedPort: 8080, protocol: "tcp", publishMode: "ingress" },
          { targetPort: 53, publishedPort: 53, protocol: "udp", publishMode: "host" },
        ],
      },
    });
    expect(s.task.restartPolicy.delayMs).toBe(10_000);
    expect(s.task.resources).toEqual({ limits: { nanoCpus: 0, memoryBytes: 512 * 1024 ** 2, pids: 0 }, reservations: { nanoCpus: 5e8, memoryBytes: 0 } });
    expect(s.task.placement).toMatchObject({ constraints: ["node.role==worker"], preferences: [{ spread: "node.labels.zone" }] });
    expect(s.task.container).toMatchObject({
      image: "nginx:1.27",
      args: ["nginx", "-g", "daemon off;"],
      env: ["A=1"],
      mounts: [{ type: "bind", source: "/srv", target: "/data", readOnly: true }],
      healthcheck: { test: ["CMD-SHELL", "wget -q -O- localhost"], intervalMs: 5000 },
      hosts: ["10.0.0.5 db"],
      capAdd: ["NET_ADMIN"],
      init: true,
    });
  });

  it("leaves everything not given to the API's defaults", () => {
    expect(buildServiceSpec("busybox", [], { name: "x" })).toEqual({ name: "x", task: { container: { image: "busybox" } } });
  });

  it.each([
    [{ restartDelay: "10" }, /--restart-delay.*duration/],
    [{ limitMemory: "lots" }, /--limit-memory/],
    [{ updateFailureAction: "explode" }, /--update-failure-action.*pause, continue, rollback/],
    [{ publish: ["80:eighty"] }, /--publish/],
    [{ mount: ["type=bind,source=/a"] }, /target/],
    [{ mount: ["type=bind,target=/a,colour=red"] }, /unknown mount field "colour"/],
    [{ placementPref: ["zone"] }, /spread=/],
    [{ env: ["SHOAL_SURELY_UNSET_VAR"] }, /not set/],
    [{ healthcheck: false, healthCmd: "true" }, /--no-healthcheck conflicts/],
  ])("%j is a usage error naming the flag", (values, message) => {
    expect(() => buildServiceSpec("busybox", [], { name: "x", ...values })).toThrow(UsageError);
    expect(() => buildServiceSpec("busybox", [], { name: "x", ...values })).toThrow(message);
  });

  it("ports and mounts: docker's short and long forms", () => {
    expect(parsePort("80")).toEqual({ targetPort: 80 });
    expect(parsePort("8080:80/udp")).toEqual({ targetPort: 80, publishedPort: 8080, protocol: "udp" });
    expect(parseMount("type=tmpfs,dst=/tmp,tmpfs-size=64M")).toEqual({ type: "tmpfs", target: "/tmp", tmpfsSizeBytes: 64 * 1024 ** 2 });
    expect(parseMount("source=data,target=/data,ro=false")).toEqual({ type: "volume", source: "data", target: "/data", readOnly: false });
  });

  it("shell splitting honours quotes and backslashes", () => {
    expect(shellSplit(`sh -c 'echo "hi there"' a\\ b "x\\"y"`)).toEqual(["sh", "-c", 'echo "hi there"', "a b", 'x"y']);
    expect(() => shellSplit("'open")).toThrow(UsageError);
  });
});

describe("service update flags → spec", () => {
  const base = stored({
    name: "web",
    labels: { keep: "1", drop: "2" },
    task: {
      container: { image: "nginx:1", env: ["A=1", "B=2"], capDrop: ["NET_RAW"] },
      placement: { constraints: ["node.role==worker", "node.labels.zone==a"] },
    },
    endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] },
  });

  it("--x-add / --x-rm edit lists and maps; scalars replace; everything else stays", () => {
    const s = stored(
      applyServiceUpdate(base, {
        image: "nginx:2",
        envAdd: ["B=3", "C=4"],
        envRm: ["A"],
        labelAdd: ["new=x"],
        labelRm: ["drop"],
        constraintRm: ["node.labels.zone==a"],
        publishAdd: ["9090:90"],
        publishRm: ["80"],
        capAdd: ["NET_RAW"],
        restartDelay: "1s",
        args: "sleep 'a b'",
      }),
    );
    expect(s.task.container.image).toBe("nginx:2");
    expect(s.task.container.env).toEqual(["B=3", "C=4"]);
    expect(s.task.container.args).toEqual(["sleep", "a b"]);
    expect(s.task.container.capAdd).toEqual(["NET_RAW"]);
    expect(s.task.container.capDrop).toEqual([]);
    expect(s.labels).toEqual({ keep: "1", new: "x" });
    expect(s.task.placement.constraints).toEqual(["node.role==worker"]);
    expect(s.endpoint.ports).toEqual([{ targetPort: 90, publishedPort: 9090, protocol: "tcp", publishMode: "ingress" }]);
    expect(s.task.restartPolicy.delayMs).toBe(1000);
    expect(s.update).toEqual(base.update);
  });

  it("--force bumps forceUpdate; --no-init turns a toggle off", () => {
    const s = applyServiceUpdate({ ...base, task: { ...base.task, container: { ...base.task.container, init: true } } }, { force: true, init: false });
    expect(s.task.forceUpdate).toBe(base.task.forceUpdate + 1);
    expect(s.task.container.init).toBe(false);
  });

  it("no flags: the spec is unchanged (and its task hash too)", () => {
    expect(applyServiceUpdate(base, {})).toEqual(base);
  });

  it("adding env entries then removing their keys gives the original list back", () => {
    const key = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/).filter((k) => k !== "A" && k !== "B");
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 6 }), (keys) => {
        const added = applyServiceUpdate(base, { envAdd: keys.map((k) => `${k}=v`) });
        const removed = applyServiceUpdate(added, { envRm: keys });
        return JSON.stringify(removed.task.container.env) === JSON.stringify(base.task.container.env);
      }),
    );
  });
});

describe("progress", () => {
  const spec = stored({ name: "web", replicas: 2, task: { container: { image: "busybox:1" } } });
  const hash = hashTaskSpec(taskSpecOf(spec));
  const service = (over: Partial<Service> = {}): Service => ({
    id: "svc_1",
    version: 2,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:10.000Z",
    spec,
    serviceStatus: { runningTasks: 0, desiredTasks: 2, completedTasks: 0 },
    ...over,
  });
  const task = (slot: number, state: Task["status"]["state"], over: Partial<Task> = {}): Task => ({
    id: `task_${slot}${state}`,
    version: 1,
    name: `web.${slot}`,
    serviceId: "svc_1",
    slot,
    nodeId: "node_a",
    desiredState: "running",
    status: { state, message: "", error: "", exitCode: null, timestamp: "2026-01-01T00:00:10.000Z" },
    specHash: hash,
    image: "busybox:1",
    createdAt: "2026-01-01T00:00:10.000Z",
    updatedAt: "2026-01-01T00:00:10.000Z",
    ...over,
  });
  const nodes = [{ id: "node_a", status: { state: "ready" } } as Node];

  it("counts only tasks running the current spec, a line per slot", () => {
    const view = planProgress(service(), [task(1, "running"), task(2, "preparing"), task(2, "running", { specHash: "old", desiredState: "shutdown" })], nodes, false);
    expect(view.converged).toBe(false);
    expect(view.lines.map((l) => `${l.id}: ${l.text}`)).toEqual([
      "overall progress: 1 out of 2 tasks",
      `1/2: running   [${"=".repeat(50)}>]`,
      `2/2: preparing [${"=".repeat(33)}>${" ".repeat(17)}]`,
    ]);
    expect(planProgress(service(), [task(1, "running"), task(2, "running")], nodes, false).converged).toBe(true);
  });

  it("an out-of-date task still wanted (update under way) is not converged; rolling back says so", () => {
    const view = planProgress(service(), [task(1, "running"), task(2, "running"), task(3, "running", { specHash: "old" })], nodes, true);
    expect(view.converged).toBe(false);
    expect(view.lines[0]!.text).toBe("rolling back update: 2 out of 2 tasks");
  });

  it("update statuses: paused and rolled back fail an update; rollback_completed ends a rollback; older statuses are ignored", () => {
    const status = (state: NonNullable<Service["updateStatus"]>["state"], startedAt = "2026-01-01T00:00:10.000Z") =>
      service({ updateStatus: { state, message: "task failed", startedAt } });
    const since = "2026-01-01T00:00:10.000Z";
    expect(judgeUpdateStatus(status("paused"), "update", since)).toEqual({ failed: "service update paused: task failed" });
    expect(judgeUpdateStatus(status("rollback_completed"), "update", since)).toEqual({ failed: "service rolled back: task failed" });
    expect(judgeUpdateStatus(status("rollback_paused"), "rollback", since)).toEqual({ failed: "service rollback paused: task failed" });
    expect(judgeUpdateStatus(status("rollback_completed"), "rollback", since)).toEqual({ done: true });
    expect(judgeUpdateStatus(status("rollback_started"), "update", since)).toEqual({ rollingBack: "task failed" });
    expect(judgeUpdateStatus(status("completed"), "update", since)).toEqual({ done: true });
    expect(judgeUpdateStatus(status("paused", "2026-01-01T00:00:05.000Z"), "update", since)).toEqual({ waiting: true });
    expect(judgeUpdateStatus(service(), "create", since)).toEqual({ waiting: true });
  });
});
