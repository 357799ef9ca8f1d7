import type { Node, Service, Task } from "../cli/api-types.js";
import { naturalCompare } from "../cli/task-table.js";
import { isDesiredUp, isTerminal } from "../domain/task-states.js";
import type { ClusterView } from "./state.js";

/** How many service colours the stylesheet defines (.svc-0 … .svc-11). */
export const paletteSize = 12;

export interface Card {
  task: Task;
  /** The task's name: <service>.<slot>, or the service name for a global task. */
  label: string;
  serviceName: string;
  /** Index into the palette: the same service keeps its colour as others come and go. */
  colour: number;
  /** Said in words as well as by the card's look. */
  state: string;
  health: "healthy" | "starting" | undefined;
}

export interface Column {
  node: Node;
  cards: Card[];
  reserved: { nanoCpus: number; memoryBytes: number };
  /** Not ready (down, disconnected, unknown): the column stands out. */
  down: boolean;
  /** Drained or paused: takes no new tasks. */
  unavailable: boolean;
}

export interface Board {
  columns: Column[];
  /** Tasks that should run but have no node yet (pending: no node fits). */
  unplaced: Card[];
}

/** A stable small hash of the service id: a colour that does not move when another service is added. */
export function serviceColour(serviceId: string): number {
  let h = 0;
  for (let i = 0; i < serviceId.length; i++) h = (h * 31 + serviceId.charCodeAt(i)) >>> 0;
  return h % paletteSize;
}

const hasHealthcheck = (s: Service | undefined) => {
  const test = s?.spec.task.container.healthcheck?.test;
  return test !== undefined && test.length > 0 && test[0] !== "NONE";
};

/** The tasks a node runs or is starting, as the visualizer draws them; stopped and replaced ones are history. */
const onBoard = (t: Task) => isDesiredUp(t.desiredState) && !isTerminal(t.status.state);

function toCard(t: Task, services: Map<string, Service>): Card {
  const service = services.get(t.serviceId);
  const serviceName = service?.spec.name ?? t.serviceId;
  const healthchecked = hasHealthcheck(service);
  return {
    task: t,
    label: t.slot === null ? serviceName : `${serviceName}.${t.slot}`,
    serviceName,
    colour: serviceColour(t.serviceId),
    state: t.status.state,
    health: !healthchecked ? undefined : t.status.state === "running" ? "healthy" : t.status.state === "starting" ? "starting" : undefined,
  };
}

const byCard = (a: Card, b: Card) => naturalCompare(a.label, b.label) || a.task.id.localeCompare(b.task.id);

/** One column per node (managers first, then by hostname, host2 before host10), a card per task on it. Pure. */
export function layoutBoard(view: ClusterView): Board {
  const services = new Map(view.services.map((s) => [s.id, s]));
  const byNode = new Map<string, Card[]>();
  const unplaced: Card[] = [];
  for (const t of view.tasks) {
    if (!onBoard(t)) continue;
    const card = toCard(t, services);
    if (t.nodeId === null) unplaced.push(card);
    else byNode.set(t.nodeId, [...(byNode.get(t.nodeId) ?? []), card]);
  }
  const columns = view.nodes.map((node): Column => {
    const cards = (byNode.get(node.id) ?? []).sort(byCard);
    const reserved = { nanoCpus: 0, memoryBytes: 0 };
    for (const c of cards) {
      const r = services.get(c.task.serviceId)?.spec.task.resources.reservations;
      reserved.nanoCpus += r?.nanoCpus ?? 0;
      reserved.memoryBytes += r?.memoryBytes ?? 0;
    }
    return { node, cards, reserved, down: node.status.state !== "ready", unavailable: node.spec.availability !== "active" };
  });
  columns.sort(
    (a, b) =>
      Number(b.node.spec.role === "manager") - Number(a.node.spec.role === "manager") ||
      naturalCompare(a.node.description.hostname, b.node.description.hostname),
  );
  return { columns, unplaced: unplaced.sort(byCard) };
}

/**
 * Narrows a large board: words of the query (case-insensitive) must each match the
 * node's hostname, state, availability or a label, or a service on it. Pure.
 */
export function filterColumns(columns: Column[], query: string): Column[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return columns;
  return columns.filter((c) => {
    const n = c.node;
    const haystack = [
      n.description.hostname,
      n.status.state,
      n.spec.availability,
      n.spec.role,
      ...Object.entries(n.spec.labels).map(([k, v]) => `${k}=${v}`),
      ...c.cards.map((card) => card.serviceName),
    ].map((s) => s.toLowerCase());
    return words.every((w) => haystack.some((h) => h.includes(w)));
  });
}

export interface SlotHistory {
  /** "web.2", or "web on host1" for a global service's per-node slot. */
  slot: string;
  /** Newest first: the current task, then the ones it replaced. */
  tasks: Task[];
}

/** A service's tasks by slot (or node, for global services), as `service ps` groups them. Pure. */
export function taskHistory(tasks: Task[], service: Service, nodes: Node[]): SlotHistory[] {
  const hostnames = new Map(nodes.map((n) => [n.id, n.description.hostname]));
  const slots = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.serviceId !== service.id) continue;
    const key =
      t.slot !== null ? `${service.spec.name}.${t.slot}` : `${service.spec.name} on ${t.nodeId === null ? "no node" : (hostnames.get(t.nodeId) ?? t.nodeId)}`;
    slots.set(key, [...(slots.get(key) ?? []), t]);
  }
  return [...slots]
    .map(([slot, ts]) => ({ slot, tasks: ts.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)) }))
    .sort((a, b) => naturalCompare(a.slot, b.slot));
}
