import { describe, expect, it } from "vitest";
import { addRecentFailure, addTask, type NodeInfo } from "../../src/scheduler/node-info.js";
import { preferenceValue } from "../../src/scheduler/preferences.js";
import { scheduleTasks, type TaskToSchedule } from "../../src/scheduler/scheduler.js";
import { fixtureNodeInfo } from "../helpers/cluster-fixtures.js";
import type { Placement, SchedulingStrategy } from "../../src/domain/service-spec.js";
import { mulberry32 } from "../helpers/mulberry.js";

const GiB = 2 ** 30;

const node = fixtureNodeInfo;

/** `count` tasks of one service sharing one spec, ids `<serviceId>.<n>`. */
function tasks(
  count: number,
  over: Partial<Omit<TaskToSchedule, "placement" | "id">> & { placement?: Partial<Placement> } = {},
): TaskToSchedule[] {
  const serviceId = over.serviceId ?? "svc_web";
  const placement: Placement = { constraints: [], preferences: [], maxReplicasPerNode: 0, platforms: [], ...over.placement };
  return Array.from({ length: count }, (_, i) => ({
    serviceId,
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    hostPorts: [],
    strategy: "spread" as SchedulingStrategy,
    ...over,
    id: `${serviceId}.${i + 1}`,
    placement,
  }));
}

/** Tasks placed per node id, in node order, zeros included. */
function perNode(nodes: NodeInfo[], assignments: Map<string, string>): Record<string, number> {
  const counts = Object.fromEntries(nodes.map((n) => [n.id, 0]));
  for (const nodeId of assignments.values()) counts[nodeId]!++;
  return counts;
}

const running = (n: NodeInfo, serviceId: string, count: number, nanoCpus = 0) => {
  for (let i = 0; i < count; i++) addTask(n, { serviceId, reservations: { nanoCpus, memoryBytes: 0 }, hostPorts: [] });
  return n;
};

describe("spread", () => {
  it("deals tasks so equal nodes fill evenly, ties by node id", () => {
    const nodes = [node("node_c"), node("node_a"), node("node_b")];
    const { assignments } = scheduleTasks(nodes, tasks(7));
    expect(perNode(nodes, assignments)).toEqual({ node_c: 2, node_a: 3, node_b: 2 });
    expect([...assignments.values()].slice(0, 3)).toEqual(["node_a", "node_b", "node_c"]);
  });

  it("prefers fewest tasks of the service, then fewest tasks in total", () => {
    const nodes = [running(node("node_a"), "svc_web", 2), running(node("node_b"), "svc_db", 3), node("node_c")];
    const { assignments } = scheduleTasks(nodes, tasks(4));
    // c (0 web, 0 total) then b (0 web, 3 total), then c, b again: both reach the 2 web tasks a runs.
    expect([...assignments.values()]).toEqual(["node_c", "node_b", "node_c", "node_b"]);
  });

  it("puts nodes where the service failed 5+ times recently last", () => {
    const flaky = node("node_a");
    for (let i = 0; i < 5; i++) addRecentFailure(flaky, "svc_web");
    const nodes = [flaky, running(node("node_b"), "svc_web", 3)];
    expect(perNode(nodes, scheduleTasks(nodes, tasks(2)).assignments)).toEqual({ node_a: 0, node_b: 2 });
    expect(perNode(nodes, scheduleTasks(nodes, tasks(1, { serviceId: "svc_db" })).assignments)).toEqual({ node_a: 1, node_b: 0 });
  });

  it("does not penalize 4 failures", () => {
    const flaky = node("node_a");
    for (let i = 0; i < 4; i++) addRecentFailure(flaky, "svc_web");
    const nodes = [flaky, node("node_b")];
    expect(perNode(nodes, scheduleTasks(nodes, tasks(2)).assignments)).toEqual({ node_a: 1, node_b: 1 });
  });

  it("moves on when the least loaded node runs out of resources", () => {
    const nodes = [node("node_a", { resources: { nanoCpus: 1e9, memoryBytes: GiB } }), node("node_b")];
    const { assignments } = scheduleTasks(nodes, tasks(4, { reservations: { nanoCpus: 1e9, memoryBytes: 0 } }));
    expect(perNode(nodes, assignments)).toEqual({ node_a: 1, node_b: 3 });
  });
});

describe("binpack", () => {
  const cpuTasks = (count: number) => tasks(count, { strategy: "binpack", reservations: { nanoCpus: 1e9, memoryBytes: GiB } });

  it("fills one node before opening another", () => {
    const nodes = [node("node_a"), node("node_b"), node("node_c")];
    expect(perNode(nodes, scheduleTasks(nodes, cpuTasks(6)).assignments)).toEqual({ node_a: 4, node_b: 2, node_c: 0 });
  });

  it("starts with the most reserved node that still fits", () => {
    const nodes = [node("node_a"), running(node("node_b"), "svc_db", 2, 1e9), running(node("node_c"), "svc_db", 4, 1e9)];
    const { assignments } = scheduleTasks(nodes, cpuTasks(3));
    expect([...assignments.values()]).toEqual(["node_b", "node_b", "node_a"]);
  });

  it("weighs reservations against each node's size", () => {
    const small = node("node_small", { resources: { nanoCpus: 2e9, memoryBytes: 2 * GiB } });
    const nodes = [node("node_big"), small];
    expect(perNode(nodes, scheduleTasks(nodes, cpuTasks(3)).assignments)).toEqual({ node_big: 1, node_small: 2 });
  });

  it("breaks ties by more tasks, so tasks without reservations still pack", () => {
    const nodes = [node("node_a"), running(node("node_b"), "svc_db", 1)];
    expect(perNode(nodes, scheduleTasks(nodes, tasks(3, { strategy: "binpack" })).assignments)).toEqual({ node_a: 0, node_b: 3 });
  });
});

describe("random", () => {
  it("picks with options.random among the nodes that pass", () => {
    const nodes = [node("node_a"), node("node_b", { availability: "drain" }), node("node_c")];
    const draws = [0.99, 0, 0.5];
    const { assignments } = scheduleTasks(nodes, tasks(3, { strategy: "random" }), { random: () => draws.shift()! });
    expect([...assignments.values()]).toEqual(["node_c", "node_a", "node_c"]);
  });

  it("draws again when the drawn node no longer fits", () => {
    const nodes = [node("node_a", { resources: { nanoCpus: 1e9, memoryBytes: GiB } }), node("node_b")];
    const { assignments } = scheduleTasks(nodes, tasks(3, { strategy: "random", reservations: { nanoCpus: 1e9, memoryBytes: 0 } }), {
      random: () => 0,
    });
    expect([...assignments.values()]).toEqual(["node_a", "node_b", "node_b"]);
  });

  it("is uniform", () => {
    const nodes = [node("node_a"), node("node_b"), node("node_c")];
    const counts = Object.values(perNode(nodes, scheduleTasks(nodes, tasks(30_000, { strategy: "random" }), { random: mulberry32(7) }).assignments));
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe("placement preferences", () => {
  const zoned = () => [
    node("node_a1", { labels: { zone: "a" } }),
    node("node_a2", { labels: { zone: "a" } }),
    node("node_b1", { labels: { zone: "b" } }),
    node("node_x"),
  ];
  const byZone = { placement: { preferences: [{ spread: "node.labels.zone" }] } };

  it.each([
    ["node label", "node.labels.zone", "a"],
    ["key case-insensitive", "NODE.LABELS.Zone", "a"],
    ["value kept as written", "node.labels.rack", "R1"],
    ["engine label", "engine.labels.disk", "ssd"],
    ["missing label", "node.labels.row", ""],
    ["not an own property", "node.labels.constructor", ""],
  ])("reads the %s", (_name, descriptor, expected) => {
    const n = node("node_1", { labels: { zone: "a", rack: "R1" }, engineLabels: { disk: "ssd" } });
    expect(preferenceValue(n, descriptor)).toBe(expected);
  });

  it("splits tasks evenly over label values; nodes lacking the label form their own group", () => {
    const nodes = zoned();
    expect(perNode(nodes, scheduleTasks(nodes, tasks(6, byZone)).assignments)).toEqual({ node_a1: 1, node_a2: 1, node_b1: 2, node_x: 2 });
  });

  it("counts tasks of the service already there", () => {
    const nodes = zoned();
    running(nodes[0]!, "svc_web", 3);
    running(nodes[2]!, "svc_db", 5);
    // a already runs 3; b and "" catch up, "" first on ties (values in string order).
    expect(perNode(nodes, scheduleTasks(nodes, tasks(5, byZone)).assignments)).toEqual({ node_a1: 0, node_a2: 0, node_b1: 2, node_x: 3 });
  });

  it("counts tasks on nodes that take no new ones, as SwarmKit does", () => {
    const nodes = [
      running(node("node_a1", { labels: { zone: "a" }, availability: "pause" }), "svc_web", 2),
      node("node_a2", { labels: { zone: "a" } }),
      node("node_b1", { labels: { zone: "b" } }),
    ];
    expect(perNode(nodes, scheduleTasks(nodes, tasks(2, byZone)).assignments)).toEqual({ node_a1: 0, node_a2: 0, node_b1: 2 });
  });

  it("gives a full value's share to the others", () => {
    const nodes = zoned();
    nodes[2]!.resources = { nanoCpus: 1e9, memoryBytes: GiB };
    const { assignments } = scheduleTasks(nodes, tasks(7, { ...byZone, reservations: { nanoCpus: 1e9, memoryBytes: 0 } }));
    expect(perNode(nodes, assignments)).toEqual({ node_a1: 2, node_a2: 1, node_b1: 1, node_x: 3 });
  });

  it("nests several preferences", () => {
    const nodes = [
      node("node_1", { labels: { zone: "a", rack: "r1" } }),
      node("node_2", { labels: { zone: "a", rack: "r1" } }),
      node("node_3", { labels: { zone: "a", rack: "r2" } }),
      node("node_4", { labels: { zone: "b", rack: "r1" } }),
    ];
    const placement = { preferences: [{ spread: "node.labels.zone" }, { spread: "node.labels.rack" }] };
    const { assignments } = scheduleTasks(nodes, tasks(8, { placement }));
    // zone a gets 4, split 2/2 over its racks; r1's 2 go one per node.
    expect(perNode(nodes, assignments)).toEqual({ node_1: 1, node_2: 1, node_3: 2, node_4: 4 });
  });

  it("ignores preferences on anything but node or engine labels, as SwarmKit does", () => {
    const nodes = [node("node_1", { hostname: "x" }), node("node_2", { hostname: "y" }), node("node_3", { hostname: "y" })];
    const placement = { preferences: [{ spread: "node.hostname" }] };
    expect(perNode(nodes, scheduleTasks(nodes, tasks(3, { placement })).assignments)).toEqual({ node_1: 1, node_2: 1, node_3: 1 });
  });

  it("spreads over engine labels", () => {
    const nodes = [node("node_1", { engineLabels: { disk: "ssd" } }), node("node_2", { engineLabels: { disk: "ssd" } }), node("node_3")];
    const { assignments } = scheduleTasks(nodes, tasks(4, { placement: { preferences: [{ spread: "engine.labels.disk" }] } }));
    expect(perNode(nodes, assignments)).toEqual({ node_1: 1, node_2: 1, node_3: 2 });
  });

  it("applies the strategy inside the chosen value", () => {
    const nodes = zoned();
    const { assignments } = scheduleTasks(nodes, tasks(6, { ...byZone, strategy: "binpack", reservations: { nanoCpus: 1e9, memoryBytes: 0 } }));
    expect(perNode(nodes, assignments)).toEqual({ node_a1: 2, node_a2: 0, node_b1: 2, node_x: 2 });
  });

  it("only places on nodes that pass the filters", () => {
    const nodes = zoned();
    const placement = { ...byZone.placement, constraints: ["node.labels.zone!=b"] };
    const { assignments, unschedulable } = scheduleTasks(nodes, tasks(4, { placement }));
    expect(perNode(nodes, assignments)).toEqual({ node_a1: 1, node_a2: 1, node_b1: 0, node_x: 2 });
    expect(unschedulable.size).toBe(0);
  });
});

describe("scheduleTasks", () => {
  it("accounts every placed task on the given NodeInfos", () => {
    const nodes = [node("node_a")];
    const hostPorts = [{ protocol: "tcp" as const, targetPort: 80, publishedPort: 8080, publishMode: "host" as const }];
    scheduleTasks(nodes, tasks(1, { reservations: { nanoCpus: 1e9, memoryBytes: GiB }, hostPorts }));
    expect(nodes[0]).toMatchObject({
      reserved: { nanoCpus: 1e9, memoryBytes: GiB },
      taskCount: 1,
      tasksByService: new Map([["svc_web", 1]]),
      hostPorts: new Set(["tcp/8080"]),
    });
  });

  it("schedules services in order of first appearance, each seeing the tasks placed before", () => {
    const nodes = [node("node_a"), node("node_b")];
    const web = tasks(3);
    const db = tasks(1, { serviceId: "svc_db" });
    const { assignments } = scheduleTasks(nodes, [web[0]!, db[0]!, web[1]!, web[2]!]);
    // web takes a, b, a; then db goes to b, the node with fewer tasks in total.
    expect(assignments).toEqual(new Map([["svc_web.1", "node_a"], ["svc_web.2", "node_b"], ["svc_web.3", "node_a"], ["svc_db.1", "node_b"]]));
  });

  it("keeps a host-mode port to one task per node", () => {
    const nodes = [node("node_a"), node("node_b")];
    const hostPorts = [{ protocol: "tcp" as const, targetPort: 80, publishedPort: 80, publishMode: "host" as const }];
    const { assignments, unschedulable } = scheduleTasks(nodes, tasks(3, { hostPorts }));
    expect(perNode(nodes, assignments)).toEqual({ node_a: 1, node_b: 1 });
    expect(unschedulable).toEqual(new Map([["svc_web.3", "no suitable node (host-mode port already in use on 2 nodes)"]]));
  });

  it("checks pinned tasks against their own node only", () => {
    const nodes = [node("node_a"), node("node_b", { resources: { nanoCpus: 1e9, memoryBytes: GiB } })];
    const global = tasks(3, { reservations: { nanoCpus: 2e9, memoryBytes: 0 } });
    global[0]!.nodeId = "node_a";
    global[1]!.nodeId = "node_b";
    global[2]!.nodeId = "node_gone";
    const { assignments, unschedulable } = scheduleTasks(nodes, global);
    expect(assignments).toEqual(new Map([["svc_web.1", "node_a"]]));
    expect(unschedulable).toEqual(
      new Map([
        ["svc_web.2", "no suitable node (insufficient resources on 1 node)"],
        ["svc_web.3", "no suitable node"],
      ]),
    );
  });

  it("reports every task when there is no node", () => {
    const { assignments, unschedulable } = scheduleTasks([], tasks(2));
    expect(assignments.size).toBe(0);
    expect([...unschedulable.values()]).toEqual(["no suitable node", "no suitable node"]);
  });
});
