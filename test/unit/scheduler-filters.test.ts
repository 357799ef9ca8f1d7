import { describe, expect, it } from "vitest";
import {
  constraintFilter,
  filters,
  hostPortFilter,
  maxReplicasFilter,
  platformFilter,
  readyFilter,
  resourceFilter,
  type Filter,
} from "../../src/scheduler/filters.js";
import { addTask, type NodeInfo } from "../../src/scheduler/node-info.js";
import { explainNoSuitableNode, newPipeline } from "../../src/scheduler/pipeline.js";
import { scheduleTasks } from "../../src/scheduler/scheduler.js";
import { prepareTask, type TaskToSchedule } from "../../src/scheduler/task-to-schedule.js";
import { fixtureNodeInfo } from "../helpers/cluster-fixtures.js";
import type { Placement, PortConfig } from "../../src/domain/service-spec.js";

const GiB = 2 ** 30;

const node = fixtureNodeInfo;

function task(
  over: Partial<Omit<TaskToSchedule, "placement">> & { placement?: Partial<Placement> } = {},
  id = "task_1",
): TaskToSchedule {
  return {
    id,
    serviceId: "svc_web",
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    hostPorts: [],
    strategy: "spread",
    ...over,
    placement: { constraints: [], preferences: [], maxReplicasPerNode: 0, platforms: [], ...over.placement },
  };
}

const hostPort = (
  publishedPort: number | undefined,
  protocol: PortConfig["protocol"] = "tcp",
  publishMode: PortConfig["publishMode"] = "host",
): PortConfig => ({
  protocol,
  targetPort: 80,
  publishedPort,
  publishMode,
});

/** Whether the filter lets the node take the task; a disabled filter lets every node through. */
function passes(filter: Filter, t: TaskToSchedule, n: NodeInfo): boolean {
  const prepared = prepareTask(t);
  return !filter.enabled(prepared) || filter.check(prepared, n);
}

describe("ready filter", () => {
  it.each([
    ["ready and active", {}, true],
    ["not ready", { ready: false }, false],
    ["paused", { availability: "pause" as const }, false],
    ["drained", { availability: "drain" as const }, false],
  ])("%s", (_name, over, expected) => {
    expect(passes(readyFilter, task(), node("node_a", over))).toBe(expected);
  });
});

describe("resource filter", () => {
  const busy = () => {
    const n = node("node_a");
    addTask(n, { serviceId: "svc_db", reservations: { nanoCpus: 3e9, memoryBytes: 6 * GiB }, hostPorts: [] });
    return n;
  };
  it.each([
    ["exactly what is left", { nanoCpus: 1e9, memoryBytes: 2 * GiB }, true],
    ["more CPU than is left", { nanoCpus: 1.5e9, memoryBytes: 0 }, false],
    ["more memory than is left", { nanoCpus: 0, memoryBytes: 2 * GiB + 1 }, false],
    ["no reservations", { nanoCpus: 0, memoryBytes: 0 }, true],
  ])("%s", (_name, reservations, expected) => {
    expect(passes(resourceFilter, task({ reservations }), busy())).toBe(expected);
  });

  it("is disabled for tasks that reserve nothing, so an over-committed node still takes them", () => {
    const n = node("node_a", { resources: { nanoCpus: 1e9, memoryBytes: GiB } });
    addTask(n, { serviceId: "svc_db", reservations: { nanoCpus: 2e9, memoryBytes: 0 }, hostPorts: [] });
    expect(resourceFilter.enabled(prepareTask(task()))).toBe(false);
    expect(passes(resourceFilter, task(), n)).toBe(true);
    expect(passes(resourceFilter, task({ reservations: { nanoCpus: 0, memoryBytes: 1 } }), n)).toBe(false);
  });
});

describe("constraint filter", () => {
  const target = node("node_Abc1", {
    hostname: "web-1",
    role: "manager",
    os: "linux",
    architecture: "x86_64",
    addr: "10.0.0.7",
    labels: { zone: "East", empty: "" },
    engineLabels: { ssd: "true" },
  });
  it.each([
    ["node.id", "node.id==node_Abc1", true],
    ["node.id case-insensitive", "node.id==NODE_abc1", true],
    ["node.id !=", "node.id!=node_Abc1", false],
    ["node.hostname", "node.hostname==web-1", true],
    ["node.hostname other", "node.hostname==web-2", false],
    ["node.role", "node.role==manager", true],
    ["node.role !=", "node.role!=manager", false],
    ["node.role worker", "node.role==worker", false],
    ["node.platform.os", "node.platform.os==linux", true],
    ["node.platform.os case-insensitive", "node.platform.os==Linux", true],
    ["node.platform.os other", "node.platform.os==windows", false],
    ["node.platform.arch", "node.platform.arch==x86_64", true],
    ["node.platform.arch other", "node.platform.arch==arm64", false],
    ["node.ip address", "node.ip==10.0.0.7", true],
    ["node.ip other address", "node.ip==10.0.0.8", false],
    ["node.ip CIDR", "node.ip==10.0.0.0/24", true],
    ["node.ip CIDR outside", "node.ip==10.0.1.0/24", false],
    ["node.ip != CIDR outside", "node.ip!=10.0.1.0/24", true],
    ["node.ip /0", "node.ip==0.0.0.0/0", true],
    ["node.labels", "node.labels.zone==east", true],
    ["node.labels key case-insensitive", "node.labels.ZONE==EAST", true],
    ["node.labels !=", "node.labels.zone!=east", false],
    ["node.labels other value", "node.labels.zone==west", false],
    ["missing label is empty: == fails", "node.labels.rack==r1", false],
    ["missing label is empty: != holds", "node.labels.rack!=r1", true],
    ["empty label behaves like a missing one", "node.labels.empty!=x", true],
    ["engine.labels", "engine.labels.ssd==true", true],
    ["engine label is not a node label", "node.labels.ssd==true", false],
    ["node label is not an engine label", "engine.labels.zone==east", false],
    ["unknown key never matches with ==", "node.colour==blue", false],
    ["unknown key never matches with !=", "node.colour!=blue", false],
    ["unparsable constraint matches no node", "node.role", false],
  ])("%s: %s", (_name, constraint, expected) => {
    expect(passes(constraintFilter, task({ placement: { constraints: [constraint] } }), target)).toBe(expected);
  });

  it("requires every constraint to hold", () => {
    const both = (c: string[]) => passes(constraintFilter, task({ placement: { constraints: c } }), target);
    expect(both(["node.role==manager", "node.labels.zone==east"])).toBe(true);
    expect(both(["node.role==manager", "node.labels.zone==west"])).toBe(false);
  });

  it("is disabled without constraints", () => {
    expect(constraintFilter.enabled(prepareTask(task()))).toBe(false);
  });
});

describe("platform filter", () => {
  const platforms = (...p: [string, string][]) => task({ placement: { platforms: p.map(([os, architecture]) => ({ os, architecture })) } });
  it.each([
    ["same platform", "x86_64", platforms(["linux", "x86_64"]), true],
    ["x86_64 node, amd64 platform", "x86_64", platforms(["linux", "amd64"]), true],
    ["amd64 node, x86_64 platform", "amd64", platforms(["linux", "x86_64"]), true],
    ["aarch64 node, arm64 platform", "aarch64", platforms(["linux", "arm64"]), true],
    ["arm64 node, aarch64 platform", "arm64", platforms(["linux", "aarch64"]), true],
    ["case-insensitive", "X86_64", platforms(["Linux", "AMD64"]), true],
    ["other architecture", "x86_64", platforms(["linux", "arm64"]), false],
    ["other os", "x86_64", platforms(["windows", "amd64"]), false],
    ["any of several", "aarch64", platforms(["linux", "amd64"], ["linux", "arm64"]), true],
    ["empty os matches any os", "x86_64", platforms(["", "amd64"]), true],
    ["empty architecture matches any architecture", "aarch64", platforms(["linux", ""]), true],
    ["no platforms: any node", "s390x", task(), true],
  ])("%s", (_name, architecture, t, expected) => {
    expect(passes(platformFilter, t, node("node_a", { architecture }))).toBe(expected);
  });
});

describe("host port filter", () => {
  const used = () => node("node_a", { hostPorts: new Set(["tcp/8080"]) });
  it.each([
    ["port in use", [hostPort(8080)], false],
    ["same port, other protocol", [hostPort(8080, "udp")], true],
    ["other port", [hostPort(8081)], true],
    ["one of several in use", [hostPort(9000), hostPort(8080)], false],
    ["ingress ports are not host ports", [hostPort(8080, "tcp", "ingress")], true],
    ["host mode without a published port", [hostPort(undefined)], true],
  ])("%s", (_name, ports, expected) => {
    expect(passes(hostPortFilter, task({ hostPorts: ports }), used())).toBe(expected);
  });
});

describe("max replicas filter", () => {
  const running = (web: number, db: number) => {
    const n = node("node_a");
    for (let i = 0; i < web; i++) addTask(n, { serviceId: "svc_web", reservations: { nanoCpus: 0, memoryBytes: 0 }, hostPorts: [] });
    for (let i = 0; i < db; i++) addTask(n, { serviceId: "svc_db", reservations: { nanoCpus: 0, memoryBytes: 0 }, hostPorts: [] });
    return n;
  };
  it.each([
    ["under the limit", 2, 1, 0, true],
    ["at the limit", 2, 2, 0, false],
    ["other services do not count", 2, 1, 5, true],
    ["0 = no limit", 0, 50, 0, true],
  ])("%s", (_name, max, web, db, expected) => {
    expect(passes(maxReplicasFilter, task({ placement: { maxReplicasPerNode: max } }), running(web, db))).toBe(expected);
  });
});

describe("filter order and phrases", () => {
  it("runs Swarm's filters in Swarm's order", () => {
    expect(filters.map((f) => f.name)).toEqual(["ready", "resources", "constraints", "platform", "host-ports", "max-replicas"]);
    expect(filters.filter((f) => f.dynamic).map((f) => f.name)).toEqual(["resources", "host-ports", "max-replicas"]);
  });

  const phrases: [Filter, string, string][] = [
    [readyFilter, "1 node not available for new tasks", "3 nodes not available for new tasks"],
    [resourceFilter, "insufficient resources on 1 node", "insufficient resources on 3 nodes"],
    [constraintFilter, "scheduling constraints not satisfied on 1 node", "scheduling constraints not satisfied on 3 nodes"],
    [platformFilter, "unsupported platform on 1 node", "unsupported platform on 3 nodes"],
    [hostPortFilter, "host-mode port already in use on 1 node", "host-mode port already in use on 3 nodes"],
    [maxReplicasFilter, "max replicas per node limit exceeded on 1 node", "max replicas per node limit exceeded on 3 nodes"],
  ];
  it.each(phrases.map(([filter, one, three]) => ({ name: filter.name, filter, one, three })))(
    "$name explains one and several nodes",
    ({ filter, one, three }) => {
      expect(filter.explain(1)).toBe(one);
      expect(filter.explain(3)).toBe(three);
    },
  );
});

describe("no suitable node message", () => {
  const explain = (t: TaskToSchedule, nodes: NodeInfo[]) => explainNoSuitableNode(newPipeline(prepareTask(t)), nodes);
  const zoneA = task({ placement: { constraints: ["node.labels.zone==a"] } });

  it("counts nodes per filter, most nodes first", () => {
    const nodes = [node("node_1"), node("node_2"), node("node_3", { availability: "pause", labels: { zone: "a" } })];
    expect(explain(zoneA, nodes)).toBe(
      "no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks)",
    );
  });

  it("counts a node only against the first filter it fails", () => {
    const nodes = [node("node_1", { ready: false }), node("node_2", { availability: "drain" }), node("node_3")];
    expect(explain(zoneA, nodes)).toBe(
      "no suitable node (2 nodes not available for new tasks; scheduling constraints not satisfied on 1 node)",
    );
  });

  it("breaks ties in filter order", () => {
    const t = task({ reservations: { nanoCpus: 2e9, memoryBytes: 0 }, hostPorts: [hostPort(80)], placement: { maxReplicasPerNode: 1 } });
    const full = node("node_1", { resources: { nanoCpus: 1e9, memoryBytes: GiB } });
    const portTaken = node("node_2", { hostPorts: new Set(["tcp/80"]) });
    const atLimit = node("node_3", { tasksByService: new Map([["svc_web", 1]]) });
    expect(explain(t, [atLimit, portTaken, full])).toBe(
      "no suitable node (insufficient resources on 1 node; host-mode port already in use on 1 node; max replicas per node limit exceeded on 1 node)",
    );
  });

  it("names an unsupported platform", () => {
    const t = task({ placement: { platforms: [{ os: "linux", architecture: "arm64" }] } });
    expect(explain(t, [node("node_1"), node("node_2")])).toBe("no suitable node (unsupported platform on 2 nodes)");
  });

  it("is bare without any node", () => {
    expect(explain(task(), [])).toBe("no suitable node");
  });

  it("is what scheduleTasks reports, with the state left after placing what fits", () => {
    const nodes = [node("node_1"), node("node_2"), node("node_3", { labels: { zone: "b" } })];
    const tasks = [1, 2, 3].map((i) => task({ placement: { constraints: ["node.labels.zone!=b"], maxReplicasPerNode: 1 } }, `task_${i}`));
    const { assignments, unschedulable } = scheduleTasks(nodes, tasks);
    expect([...assignments.keys()]).toEqual(["task_1", "task_2"]);
    expect(unschedulable).toEqual(
      new Map([
        ["task_3", "no suitable node (max replicas per node limit exceeded on 2 nodes; scheduling constraints not satisfied on 1 node)"],
      ]),
    );
  });
});
