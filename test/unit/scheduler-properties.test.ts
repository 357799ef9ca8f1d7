import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConstraint } from "../../src/domain/constraint.js";
import { constraintMatches } from "../../src/scheduler/constraint.js";
import { filters } from "../../src/scheduler/filters.js";
import { addRecentFailure, addTask, newNodeInfo, type NodeInfo } from "../../src/scheduler/node-info.js";
import { passesFilters } from "../../src/scheduler/pipeline.js";
import { preferenceValue } from "../../src/scheduler/preferences.js";
import { scheduleTasks, type TaskToSchedule } from "../../src/scheduler/scheduler.js";
import { prepareTask } from "../../src/scheduler/task-to-schedule.js";
import type { PortConfig, SchedulingStrategy } from "../../src/domain/service-spec.js";
import { mulberry32 } from "../helpers/mulberry.js";

const GiB = 2 ** 30;
const strategies: SchedulingStrategy[] = ["spread", "binpack", "random"];
const zones = ["a", "b", "c", undefined];
const architectures = ["x86_64", "amd64", "aarch64", "arm64"];
const portPool = ["tcp/80", "tcp/443", "udp/53"];
const constraintPool = [
  "node.labels.zone==a",
  "node.labels.zone!=b",
  "node.role!=manager",
  "node.platform.arch==x86_64",
  "engine.labels.ssd==true",
];
const nothing = { nanoCpus: 0, memoryBytes: 0 };

const nodeArb = fc.record({
  ready: fc.constantFrom(true, true, true, false),
  availability: fc.constantFrom("active", "active", "active", "active", "pause", "drain") as fc.Arbitrary<NodeInfo["availability"]>,
  role: fc.constantFrom("worker", "manager"),
  os: fc.constantFrom("linux", "linux", "windows"),
  architecture: fc.constantFrom(...architectures),
  zone: fc.constantFrom(...zones),
  ssd: fc.boolean(),
  cpus: fc.constantFrom<number>(0, 1, 2, 4, 8),
  memoryGiB: fc.constantFrom<number>(0, 1, 2, 4, 8),
  existing: fc.array(
    fc.record({
      serviceId: fc.constantFrom("svc_0", "svc_1", "svc_other"),
      nanoCpus: fc.constantFrom(0, 5e8, 1e9),
      memoryBytes: fc.constantFrom(0, GiB / 2, GiB),
      hostPorts: fc.subarray(portPool, { maxLength: 1 }),
    }),
    { maxLength: 4 },
  ),
  failures: fc.array(fc.constantFrom("svc_0", "svc_1"), { maxLength: 6 }),
});
type NodeSeed = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;

/** A node from a seed; existing tasks that would over-commit it or reuse a port are left out. */
function buildNode(seed: NodeSeed, index: number): NodeInfo {
  const n = newNodeInfo({
    id: `node_${index}`,
    hostname: `host-${index}`,
    role: seed.role,
    os: seed.os,
    architecture: seed.architecture,
    addr: `10.0.0.${index + 1}`,
    labels: seed.zone === undefined ? {} : { zone: seed.zone },
    engineLabels: seed.ssd ? { ssd: "true" } : {},
    ready: seed.ready,
    availability: seed.availability,
    resources: { nanoCpus: seed.cpus * 1e9, memoryBytes: seed.memoryGiB * GiB },
  });
  for (const t of seed.existing) {
    const fits = n.reserved.nanoCpus + t.nanoCpus <= n.resources.nanoCpus && n.reserved.memoryBytes + t.memoryBytes <= n.resources.memoryBytes;
    if (fits && t.hostPorts.every((p) => !n.hostPorts.has(p))) addTask(n, { serviceId: t.serviceId, reservations: t, hostPorts: t.hostPorts });
  }
  for (const s of seed.failures) addRecentFailure(n, s);
  return n;
}

const portConfig = (key: string): PortConfig => {
  const [protocol, port] = key.split("/");
  return { protocol: protocol as PortConfig["protocol"], targetPort: 8000, publishedPort: Number(port), publishMode: "host" };
};

const serviceArb = fc.record({
  count: fc.integer({ min: 0, max: 12 }),
  strategy: fc.constantFrom(...strategies),
  nanoCpus: fc.constantFrom<number>(0, 5e8, 1e9, 2e9),
  memoryBytes: fc.constantFrom(0, GiB / 2, GiB),
  constraints: fc.oneof(fc.constant<string[]>([]), fc.subarray(constraintPool, { maxLength: 2 })),
  platforms: fc.oneof(
    fc.constant<{ os: string; architecture: string }[]>([]),
    fc.subarray(
      [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "aarch64" },
        { os: "windows", architecture: "x86_64" },
      ],
      { maxLength: 2 },
    ),
  ),
  hostPorts: fc.oneof({ arbitrary: fc.constant<string[]>([]), weight: 3 }, { arbitrary: fc.subarray(portPool, { maxLength: 2 }), weight: 1 }),
  maxReplicasPerNode: fc.integer({ min: 0, max: 3 }),
  preferences: fc.subarray([{ spread: "node.labels.zone" }, { spread: "engine.labels.ssd" }]),
  /** Pinned (global) tasks name a node by index, one past the end being a node that does not exist. */
  pinnedTo: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.array(fc.nat(), { maxLength: 6 }), weight: 1 },
  ),
});
type ServiceSeed = typeof serviceArb extends fc.Arbitrary<infer T> ? T : never;

function buildTasks(services: ServiceSeed[], nodeCount: number): TaskToSchedule[] {
  return services.flatMap((s, si) => {
    const serviceId = `svc_${si}`;
    const shared = {
      serviceId,
      reservations: { nanoCpus: s.nanoCpus, memoryBytes: s.memoryBytes },
      placement: { constraints: s.constraints, preferences: s.preferences, maxReplicasPerNode: s.maxReplicasPerNode, platforms: s.platforms },
      hostPorts: s.hostPorts.map(portConfig),
      strategy: s.strategy,
    };
    if (s.pinnedTo) return s.pinnedTo.map((i, ti) => ({ ...shared, id: `${serviceId}.${ti}`, nodeId: `node_${i % (nodeCount + 1)}` }));
    return Array.from({ length: s.count }, (_, ti) => ({ ...shared, id: `${serviceId}.${ti}` }));
  });
}

const plainNode: NodeSeed = {
  ready: true,
  availability: "active",
  role: "worker",
  os: "linux",
  architecture: "x86_64",
  zone: undefined,
  ssd: false,
  cpus: 4,
  memoryGiB: 8,
  existing: [],
  failures: [],
};

const plainService: ServiceSeed = {
  count: 0,
  strategy: "spread",
  nanoCpus: 0,
  memoryBytes: 0,
  constraints: [],
  platforms: [],
  hostPorts: [],
  maxReplicasPerNode: 0,
  preferences: [],
  pinnedTo: undefined,
};

/** A deep copy of the nodes before scheduling, to check the result against. */
const snapshot = (nodes: NodeInfo[]) => nodes.map((n) => structuredClone(n));

const scenarioArb = fc.record({
  nodes: fc.array(nodeArb, { maxLength: 10 }),
  services: fc.array(serviceArb, { minLength: 1, maxLength: 3 }),
  seed: fc.integer(),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

const runs = { numRuns: 300 };

/** Runs the scheduler on a generated scenario, keeping a copy of the nodes as they were. */
function run({ nodes: seeds, services, seed }: Scenario) {
  const nodes = seeds.map(buildNode);
  const before = snapshot(nodes);
  const tasks = buildTasks(services, nodes.length);
  const result = scheduleTasks(nodes, tasks, { random: mulberry32(seed) });
  return { nodes, before, tasks, tasksById: new Map(tasks.map((t) => [t.id, t])), ...result };
}

/**
 * Calls `check` for each assignment in order, with the node as it was before
 * that task, then accounts the task on it by hand (not with addTask, which is
 * under test too).
 */
function replay(scenario: ReturnType<typeof run>, check: (task: TaskToSchedule, node: NodeInfo) => void): NodeInfo[] {
  const byId = new Map(scenario.before.map((n) => [n.id, n]));
  for (const [taskId, nodeId] of scenario.assignments) {
    const t = scenario.tasksById.get(taskId)!;
    const n = byId.get(nodeId)!;
    check(t, n);
    n.reserved.nanoCpus += t.reservations.nanoCpus;
    n.reserved.memoryBytes += t.reservations.memoryBytes;
    n.taskCount += 1;
    n.tasksByService.set(t.serviceId, (n.tasksByService.get(t.serviceId) ?? 0) + 1);
    for (const p of t.hostPorts) n.hostPorts.add(`${p.protocol}/${p.publishedPort}`);
  }
  return scenario.before;
}

/** Tasks per value of node.labels.zone, nodes without one under "". */
function tasksPerZone(nodes: NodeInfo[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const zone = preferenceValue(n, "node.labels.zone");
    counts.set(zone, (counts.get(zone) ?? 0) + n.taskCount);
  }
  return counts;
}

const alias = (architecture: string) => (architecture === "x86_64" ? "amd64" : architecture === "aarch64" ? "arm64" : architecture);

describe("scheduleTasks properties", () => {
  const property = (name: string, check: (scenario: ReturnType<typeof run>) => void) =>
    it(name, () => fc.assert(fc.property(scenarioArb, (s) => check(run(s))), runs));

  property("assignments and unschedulable hold every task exactly once", ({ tasks, assignments, unschedulable }) => {
    expect(assignments.size + unschedulable.size).toBe(tasks.length);
    for (const t of tasks) expect(assignments.has(t.id) !== unschedulable.has(t.id)).toBe(true);
  });

  property("reservations are never over-committed on any node", (scenario) => {
    replay(scenario, (t, n) => {
      if (t.reservations.nanoCpus === 0 && t.reservations.memoryBytes === 0) return;
      expect(n.reserved.nanoCpus + t.reservations.nanoCpus).toBeLessThanOrEqual(n.resources.nanoCpus);
      expect(n.reserved.memoryBytes + t.reservations.memoryBytes).toBeLessThanOrEqual(n.resources.memoryBytes);
    });
  });

  // Checked against the raw spec, not the scheduler's filters.
  property("constraints, readiness, platforms, host ports, max replicas and pinned nodes are always honoured", (scenario) => {
    replay(scenario, (t, n) => {
      if (t.nodeId !== undefined) expect(n.id).toBe(t.nodeId);
      expect(n.ready && n.availability === "active").toBe(true);
      for (const text of t.placement.constraints) {
        const c = parseConstraint(text);
        expect("error" in c ? false : constraintMatches(n, c)).toBe(true);
      }
      if (t.placement.platforms.length > 0)
        expect(t.placement.platforms.some((p) => p.os === n.os && alias(p.architecture) === alias(n.architecture))).toBe(true);
      for (const p of t.hostPorts) expect(n.hostPorts.has(`${p.protocol}/${p.publishedPort}`)).toBe(false);
      const max = t.placement.maxReplicasPerNode;
      if (max > 0) expect(n.tasksByService.get(t.serviceId) ?? 0).toBeLessThan(max);
    });
  });

  property("the given NodeInfos end up accounting exactly the tasks placed on them", (scenario) => {
    expect(scenario.nodes).toEqual(replay(scenario, () => {}));
  });

  // Placing only ever uses nodes up, so a task left over still fits no node once all are placed.
  property("a task is unschedulable only if no node passes all filters", ({ nodes, tasksById, unschedulable }) => {
    for (const [taskId, message] of unschedulable) {
      const t = tasksById.get(taskId)!;
      const prepared = prepareTask(t);
      const enabled = filters.filter((f) => f.enabled(prepared));
      const candidates = t.nodeId === undefined ? nodes : nodes.filter((n) => n.id === t.nodeId);
      for (const n of candidates) expect(passesFilters(enabled, prepared, n)).toBe(false);
      expect(message).toMatch(/^no suitable node( \(.+\))?$/);
    }
  });

  it("spread keeps a service's counts within 1 across eligible nodes, whatever else they run", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 10, maxLength: 10 }),
        (nodeCount, taskCount, eligible, otherTasks) => {
          // Tasks of another service make the nodes' totals differ; the service's own counts must still even out.
          const nodes = Array.from({ length: nodeCount }, (_, i) => {
            const n = buildNode({ ...plainNode, zone: eligible[i] ? "a" : "b" }, i);
            for (let k = 0; k < otherTasks[i]!; k++) addTask(n, { serviceId: "svc_other", reservations: nothing, hostPorts: [] });
            return n;
          });
          const tasks = buildTasks([{ ...plainService, count: taskCount, constraints: ["node.labels.zone==a"] }], nodeCount);
          const { assignments } = scheduleTasks(nodes, tasks);
          const counts = nodes.filter((n) => n.labels.zone === "a").map((n) => n.tasksByService.get("svc_0") ?? 0);
          if (counts.length > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          expect(assignments.size).toBe(counts.length > 0 ? taskCount : 0);
        },
      ),
      runs,
    );
  });

  it("binpack fills a node before opening another: with equal nodes and tasks at most one is partly full", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 70 }),
        fc.boolean(),
        (nodeCount, capacity, taskCount, byMemory) => {
          // Each node takes `capacity` tasks, limited by CPU or by memory.
          const size = byMemory ? { cpus: 8, memoryGiB: capacity } : { cpus: capacity, memoryGiB: 8 };
          const nodes = Array.from({ length: nodeCount }, (_, i) => buildNode({ ...plainNode, ...size }, i));
          const perTask = byMemory ? { nanoCpus: 0, memoryBytes: GiB } : { nanoCpus: 1e9, memoryBytes: 0 };
          const tasks = buildTasks([{ ...plainService, count: taskCount, strategy: "binpack", ...perTask }], nodeCount);
          const { assignments } = scheduleTasks(nodes, tasks);
          const counts = nodes.map((n) => n.taskCount);
          expect(counts.filter((c) => c > 0 && c < capacity).length).toBeLessThanOrEqual(1);
          expect(assignments.size).toBe(Math.min(taskCount, nodeCount * capacity));
        },
      ),
      runs,
    );
  });

  it("preferences balance label values within 1 where capacity allows, counting tasks already there", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ zone: fc.constantFrom(...zones), existing: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 40 }),
        fc.constantFrom(...strategies),
        fc.integer(),
        (seeds, taskCount, strategy, seed) => {
          const nodes = seeds.map((s, i) => {
            const n = buildNode({ ...plainNode, zone: s.zone }, i);
            for (let k = 0; k < s.existing; k++) addTask(n, { serviceId: "svc_0", reservations: nothing, hostPorts: [] });
            return n;
          });
          const before = tasksPerZone(nodes);
          const tasks = buildTasks([{ ...plainService, count: taskCount, strategy, preferences: [{ spread: "node.labels.zone" }] }], nodes.length);
          scheduleTasks(nodes, tasks, { random: mulberry32(seed) });
          const after = tasksPerZone(nodes);
          // Water-filling: no value ends more than 1 below a value that received a task.
          const lowest = Math.min(...after.values());
          for (const [value, count] of after) if (count > before.get(value)!) expect(count - lowest).toBeLessThanOrEqual(1);
          if ([...before.values()].every((c) => c === 0)) expect(Math.max(...after.values()) - lowest).toBeLessThanOrEqual(1);
        },
      ),
      runs,
    );
  });
});
