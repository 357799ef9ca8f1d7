/**
 * Placement throughput of the pure scheduler: 100,000 tasks of one replicated
 * service on 1,000 nodes, unconstrained and with two constraints. Prints the
 * medians of several repetitions as the last lines.
 * Run: npx tsx test/bench/scheduler-bench.ts
 */
import { newNodeInfo, type NodeInfo } from "../../src/scheduler/node-info.js";
import { scheduleTasks, type TaskToSchedule } from "../../src/scheduler/scheduler.js";
import type { SchedulingStrategy } from "../../src/domain/service-spec.js";

const nodeCount = 1_000;
const taskCount = 100_000;
const repetitions = 9;

function buildNodes(): NodeInfo[] {
  return Array.from({ length: nodeCount }, (_, i) =>
    newNodeInfo({
      id: `node_${String(i).padStart(4, "0")}`,
      hostname: `host-${i}`,
      role: i % 10 === 0 ? "manager" : "worker",
      os: "linux",
      architecture: "x86_64",
      addr: `10.${i >> 8}.${i & 255}.1`,
      labels: { zone: ["a", "b"][i % 2]! },
      engineLabels: {},
      ready: true,
      availability: "active",
      resources: { nanoCpus: 64e9, memoryBytes: 256 * 2 ** 30 },
    }),
  );
}

function buildTasks(
  constraints: string[],
  strategy: SchedulingStrategy,
  preferences: { spread: string }[] = [],
): TaskToSchedule[] {
  const placement = { constraints, preferences, maxReplicasPerNode: 0, platforms: [] };
  const reservations = { nanoCpus: 1e7, memoryBytes: 2 ** 20 };
  return Array.from({ length: taskCount }, (_, i) => ({
    id: `task_${i}`,
    serviceId: "svc_bench",
    reservations,
    placement,
    hostPorts: [],
    strategy,
  }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Placements per second of each repetition, on fresh nodes each time. */
function measure(tasks: TaskToSchedule[]): number {
  const rates: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const nodes = buildNodes();
    const start = performance.now();
    const { assignments, unschedulable } = scheduleTasks(nodes, tasks);
    const seconds = (performance.now() - start) / 1000;
    if (assignments.size !== taskCount || unschedulable.size !== 0) throw new Error(`placed ${assignments.size} of ${taskCount}`);
    rates.push(assignments.size / seconds);
  }
  return Math.round(median(rates));
}

const constraints = ["node.labels.zone==a", "node.role!=manager"];
const other = [
  ["binpack", measure(buildTasks([], "binpack"))],
  ["random", measure(buildTasks([], "random"))],
  ["spread_with_zone_preference", measure(buildTasks([], "spread", [{ spread: "node.labels.zone" }]))],
] as const;
for (const [name, rate] of other) console.log(`scheduler_${name}_placements_per_s ${rate} placements/s`);
const plain = measure(buildTasks([], "spread"));
const constrained = measure(buildTasks(constraints, "spread"));
console.log(`scheduler_placements_per_s ${plain} placements/s`);
console.log(`scheduler_constrained_placements_per_s ${constrained} placements/s`);
