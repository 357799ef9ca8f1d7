import { addTask, type ActiveTask, type NodeInfo } from "./node-info.js";
import { explainNoSuitableNode, newPipeline, passesFilters } from "./pipeline.js";
import { newPreferenceTree } from "./preferences.js";
import { newCandidates } from "./strategies.js";
import { prepareTask, type TaskToSchedule } from "./task-to-schedule.js";

export type { TaskToSchedule } from "./task-to-schedule.js";

export interface ScheduleOptions {
  /** Source of [0, 1) numbers for the random strategy; Math.random when omitted. */
  random?: () => number;
}

export interface ScheduleResult {
  /** Task id → node id. */
  assignments: Map<string, string>;
  /** Task id → "no suitable node (…)"; the task stays pending and is retried on the next reconcile. */
  unschedulable: Map<string, string>;
}

/**
 * Swarm's scheduler, pure: assigns each task to a node or explains why none
 * takes it. Called by the reconcile pass with NodeInfos freshly built from the
 * store; it updates their accounting (`addTask`) for every task it places, so
 * later groups, and later calls with the same NodeInfos, see those tasks.
 *
 * Tasks are grouped by service, in order of first appearance. Pinned tasks
 * (global services) are checked against their node alone. For the rest, the
 * static filters run once per node per group, then each task takes the node
 * the strategy ranks first among the preference tree's chosen leaf, after the
 * dynamic filters are re-checked on that node only: O(log nodes) per task.
 */
export function scheduleTasks(nodes: NodeInfo[], tasks: TaskToSchedule[], options: ScheduleOptions = {}): ScheduleResult {
  const random = options.random ?? Math.random;
  const result: ScheduleResult = { assignments: new Map(), unschedulable: new Map() };
  const nodesById = new Map(nodes.map((n) => [n.id, n]));
  const groups = new Map<string, TaskToSchedule[]>();
  for (const task of tasks) {
    const group = groups.get(task.serviceId);
    if (group) group.push(task);
    else groups.set(task.serviceId, [task]);
  }
  for (const group of groups.values()) scheduleGroup(nodes, nodesById, group, random, result);
  return result;
}

function scheduleGroup(
  nodes: NodeInfo[],
  nodesById: Map<string, NodeInfo>,
  group: TaskToSchedule[],
  random: () => number,
  result: ScheduleResult,
): void {
  const task = prepareTask(group[0]!);
  const pipeline = newPipeline(task);
  const active: ActiveTask = { serviceId: task.serviceId, reservations: task.reservations, hostPorts: task.hostPorts };
  const place = (id: string, node: NodeInfo) => {
    addTask(node, active);
    result.assignments.set(id, node.id);
  };

  const unpinned: TaskToSchedule[] = [];
  for (const t of group) {
    if (t.nodeId === undefined) {
      unpinned.push(t);
      continue;
    }
    const node = nodesById.get(t.nodeId);
    if (node && passesFilters(pipeline.filters, task, node)) place(t.id, node);
    else result.unschedulable.set(t.id, explainNoSuitableNode(pipeline, node ? [node] : []));
  }
  if (unpinned.length === 0) return;

  const fits = (node: NodeInfo) => passesFilters(pipeline.dynamicFilters, task, node);
  const candidates = newPreferenceTree(task.preferences, nodes, task.serviceId, (leaf) =>
    newCandidates(
      task.strategy,
      leaf.filter((node) => passesFilters(pipeline.staticFilters, task, node)),
      task,
      fits,
      random,
    ),
  );
  let placed = 0;
  for (; placed < unpinned.length; placed++) {
    const node = candidates.next();
    if (!node) break;
    place(unpinned[placed]!.id, node);
    candidates.placed();
  }
  if (placed === unpinned.length) return;
  const message = explainNoSuitableNode(pipeline, nodes);
  for (const t of unpinned.slice(placed)) result.unschedulable.set(t.id, message);
}
