import { filters as allFilters, type Filter } from "./filters.js";
import type { NodeInfo } from "./node-info.js";
import type { PreparedTask } from "./task-to-schedule.js";

/** The filters enabled for one task group (SwarmKit's pipeline.go after SetTask). */
export interface Pipeline {
  task: PreparedTask;
  /** All enabled filters, in Swarm's order. */
  filters: Filter[];
  /** Enabled filters placing cannot change: run once per node per group. */
  staticFilters: Filter[];
  /** Enabled filters placing can change: re-checked on a node before each placement. */
  dynamicFilters: Filter[];
}

export function newPipeline(task: PreparedTask): Pipeline {
  const filters = allFilters.filter((f) => f.enabled(task));
  return {
    task,
    filters,
    staticFilters: filters.filter((f) => !f.dynamic),
    dynamicFilters: filters.filter((f) => f.dynamic),
  };
}

/** Whether the node passes every one of `filters` for the task. */
export function passesFilters(filters: readonly Filter[], task: PreparedTask, node: NodeInfo): boolean {
  for (const f of filters) if (!f.check(task, node)) return false;
  return true;
}

/**
 * The status message of a task no node takes, as Swarm words it:
 * `no suitable node (<phrase>; <phrase>)`, one phrase per filter that ruled
 * nodes out, counting each node against the first filter it fails; filters
 * that ruled out the most nodes come first, filter order breaks ties. With no
 * node at all it is just `no suitable node`.
 */
export function explainNoSuitableNode(pipeline: Pipeline, nodes: Iterable<NodeInfo>): string {
  const failures = pipeline.filters.map(() => 0);
  for (const node of nodes) {
    const index = pipeline.filters.findIndex((f) => !f.check(pipeline.task, node));
    if (index >= 0) failures[index]!++;
  }
  const phrases = pipeline.filters
    .map((filter, index) => ({ filter, index, count: failures[index]! }))
    .filter((e) => e.count > 0)
    .sort((a, b) => b.count - a.count || a.index - b.index)
    .map((e) => e.filter.explain(e.count));
  return phrases.length === 0 ? "no suitable node" : `no suitable node (${phrases.join("; ")})`;
}
