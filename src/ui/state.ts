import type { Node, Service, Task } from "../cli/api-types.js";
import type { ApiEvent } from "../cli/event-views.js";
import { nodeStates, type NodeState } from "../domain/node.js";
import { movesForward, taskStates, type TaskState } from "../domain/task-states.js";

/** What the page shows: the API's lists, as last read and as events since have changed them. */
export interface ClusterView {
  nodes: Node[];
  services: Service[];
  tasks: Task[];
}

export const emptyView: ClusterView = { nodes: [], services: [], tasks: [] };

const isNodeState = (a: string): a is NodeState => (nodeStates as readonly string[]).includes(a);
const isTaskState = (a: string): a is TaskState => (taskStates as readonly string[]).includes(a);

/**
 * Applies what an event says for certain, so the board moves at once; the page
 * also re-reads the lists after events, for what events do not carry (new tasks,
 * placements, specs). Returns the same view when the event changes nothing. Pure.
 */
export function applyEvent(view: ClusterView, e: ApiEvent): ClusterView {
  const id = e.actor.id;
  const attrs = e.actor.attributes;
  if (e.type === "node") {
    if (e.action === "remove") return { ...view, nodes: view.nodes.filter((n) => n.id !== id) };
    if (!isNodeState(e.action)) return view;
    const state = e.action;
    return {
      ...view,
      nodes: view.nodes.map((n) =>
        n.id === id && n.status.state !== state ? { ...n, status: { ...n.status, state, message: attrs.reason ?? "" } } : n,
      ),
    };
  }
  if (e.type === "task") {
    if (!isTaskState(e.action)) return view;
    const state = e.action;
    return {
      ...view,
      tasks: view.tasks.map((t) =>
        t.id === id && movesForward(t.status.state, state)
          ? {
              ...t,
              status: {
                ...t.status,
                state,
                timestamp: e.time,
                error: attrs.error ?? "",
                exitCode: attrs.exitCode === undefined ? null : Number(attrs.exitCode),
              },
            }
          : t,
      ),
    };
  }
  if (e.type === "service") {
    if (e.action === "remove")
      return { ...view, services: view.services.filter((s) => s.id !== id), tasks: view.tasks.filter((t) => t.serviceId !== id) };
    const replicas = attrs.replicas === undefined ? undefined : Number(attrs.replicas);
    if (e.action === "update" && replicas !== undefined && Number.isInteger(replicas))
      return {
        ...view,
        services: view.services.map((s) => (s.id === id ? { ...s, spec: { ...s.spec, replicas } } : s)),
      };
  }
  return view;
}
