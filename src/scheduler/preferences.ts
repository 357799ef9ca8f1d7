import { Heap } from "./heap.js";
import type { NodeInfo } from "./node-info.js";
import type { Candidates } from "./strategies.js";

/** One label value at one level of the tree, with the tasks of the service its nodes already run. */
interface Branch {
  value: string;
  serviceTasks: number;
  candidates: Candidates;
}

const branchBefore = (a: Branch, b: Branch): boolean =>
  a.serviceTasks !== b.serviceTasks ? a.serviceTasks < b.serviceTasks : a.value < b.value;

/** A node's value for a spread descriptor; label keys match case-insensitively as in constraints, a missing label is "". */
export function preferenceValue(node: NodeInfo, descriptor: string): string {
  const lower = descriptor.toLowerCase();
  const [labels, key] = lower.startsWith("node.labels.")
    ? [node.labels, lower.slice("node.labels.".length)]
    : [node.engineLabels, lower.slice("engine.labels.".length)];
  if (Object.hasOwn(labels, key)) return labels[key]!;
  for (const [k, v] of Object.entries(labels)) if (k.toLowerCase() === key) return v;
  return "";
}

/**
 * Swarm's placement preferences: each task goes to the label value (nested,
 * one level per descriptor) whose nodes run the fewest tasks of the service,
 * ties by value, then the leaf's strategy picks the node. Tasks on every node
 * count, eligible or not, as in SwarmKit; a value whose nodes take no more
 * tasks drops out and the others share the rest. `descriptors` are node or
 * engine label descriptors (prepareTask filters the others out).
 */
export function newPreferenceTree(
  descriptors: readonly string[],
  nodes: NodeInfo[],
  serviceId: string,
  newLeaf: (nodes: NodeInfo[]) => Candidates,
): Candidates {
  const descriptor = descriptors[0];
  if (descriptor === undefined) return newLeaf(nodes);
  const byValue = new Map<string, NodeInfo[]>();
  for (const node of nodes) {
    const value = preferenceValue(node, descriptor);
    const group = byValue.get(value);
    if (group) group.push(node);
    else byValue.set(value, [node]);
  }
  const branches = [...byValue].map(([value, group]): Branch => ({
    value,
    serviceTasks: group.reduce((sum, n) => sum + (n.tasksByService.get(serviceId) ?? 0), 0),
    candidates: newPreferenceTree(descriptors.slice(1), group, serviceId, newLeaf),
  }));
  const heap = new Heap(branches, branchBefore);
  return {
    next() {
      for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
        const node = top.candidates.next();
        if (node) return node;
        heap.pop();
      }
      return undefined;
    },
    placed() {
      const top = heap.peek()!;
      top.candidates.placed();
      top.serviceTasks++;
      heap.updateTop();
    },
  };
}
