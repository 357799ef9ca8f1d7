import type { SchedulingStrategy } from "../domain/service-spec.js";
import { Heap } from "./heap.js";
import type { NodeInfo, ResourceAmounts } from "./node-info.js";
import type { PreparedTask } from "./task-to-schedule.js";

/**
 * The nodes one task group may still use, in the order a strategy wants them.
 * Placing only ever uses a node up (more reservations, ports, replicas), so a
 * node that fails the dynamic filters once is dropped for the rest of the group.
 */
export interface Candidates {
  /** The node the group's next task goes to, or undefined when no node takes it any more. */
  next(): NodeInfo | undefined;
  /** Re-ranks after the task was added (`addTask`) to the node `next` returned. */
  placed(): void;
}

/** Swarm deprioritizes a node once a service failed this often on it in the last 5 minutes. */
const failuresBeforePenalty = 5;

/** Spread ranks by these, kept beside the node so comparisons skip map look-ups. */
interface SpreadEntry {
  node: NodeInfo;
  penalized: boolean;
  serviceTasks: number;
}

/** Reserved share, CPU plus memory, a node would have with one more task of the group. */
interface BinpackEntry {
  node: NodeInfo;
  shareAfter: number;
}

const spreadBefore = (a: SpreadEntry, b: SpreadEntry): boolean => {
  if (a.penalized !== b.penalized) return b.penalized;
  if (a.serviceTasks !== b.serviceTasks) return a.serviceTasks < b.serviceTasks;
  if (a.node.taskCount !== b.node.taskCount) return a.node.taskCount < b.node.taskCount;
  return a.node.id < b.node.id;
};

/** Classic Swarm's binpack: the fullest node first, then the one with more tasks, so ties keep filling one node. */
const binpackBefore = (a: BinpackEntry, b: BinpackEntry): boolean => {
  if (a.shareAfter !== b.shareAfter) return a.shareAfter > b.shareAfter;
  if (a.node.taskCount !== b.node.taskCount) return a.node.taskCount > b.node.taskCount;
  return a.node.id < b.node.id;
};

const fraction = (used: number, total: number) => (total > 0 ? used / total : 0);

function shareAfter(node: NodeInfo, reservations: ResourceAmounts): number {
  return (
    fraction(node.reserved.nanoCpus + reservations.nanoCpus, node.resources.nanoCpus) +
    fraction(node.reserved.memoryBytes + reservations.memoryBytes, node.resources.memoryBytes)
  );
}

/** Candidates kept in a heap: the top is the best node; only it is re-ranked after a placement. */
function heapCandidates<E extends { node: NodeInfo }>(
  heap: Heap<E>,
  fits: (node: NodeInfo) => boolean,
  rerank: (entry: E) => void,
): Candidates {
  return {
    next() {
      for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
        if (fits(top.node)) return top.node;
        heap.pop();
      }
      return undefined;
    },
    placed() {
      rerank(heap.peek()!);
      heap.updateTop();
    },
  };
}

/** Uniform among the nodes that still pass: a failing pick is swapped out and another drawn. */
function randomCandidates(nodes: NodeInfo[], fits: (node: NodeInfo) => boolean, random: () => number): Candidates {
  const pool = [...nodes];
  return {
    next() {
      while (pool.length > 0) {
        const index = Math.min(pool.length - 1, Math.floor(random() * pool.length));
        const node = pool[index]!;
        if (fits(node)) return node;
        pool[index] = pool[pool.length - 1]!;
        pool.pop();
      }
      return undefined;
    },
    placed() {},
  };
}

/**
 * The candidates for one leaf of the preference tree. `nodes` passed the
 * group's static filters; `fits` runs its dynamic ones.
 */
export function newCandidates(
  strategy: SchedulingStrategy,
  nodes: NodeInfo[],
  task: PreparedTask,
  fits: (node: NodeInfo) => boolean,
  random: () => number,
): Candidates {
  switch (strategy) {
    case "spread": {
      const entries = nodes.map((node) => ({
        node,
        penalized: (node.recentFailures.get(task.serviceId) ?? 0) >= failuresBeforePenalty,
        serviceTasks: node.tasksByService.get(task.serviceId) ?? 0,
      }));
      return heapCandidates(new Heap(entries, spreadBefore), fits, (e) => e.serviceTasks++);
    }
    case "binpack": {
      const entries = nodes.map((node) => ({ node, shareAfter: shareAfter(node, task.reservations) }));
      const rerank = (e: BinpackEntry) => (e.shareAfter = shareAfter(e.node, task.reservations));
      return heapCandidates(new Heap(entries, binpackBefore), fits, rerank);
    }
    case "random":
      return randomCandidates(nodes, fits, random);
  }
}
