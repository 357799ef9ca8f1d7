import type { NodeRow } from "../db/nodes.js";
import { matchesLabelFilters } from "./label-filter.js";

/** docker node ls filters; values of one filter are alternatives (label filters: all must hold), different filters must all hold. */
export interface NodeFilters {
  id?: string[];
  name?: string[];
  role?: string[];
  membership?: string[];
  label?: string[];
  "node.label"?: string[];
}

const any = (check: (node: NodeRow, value: string) => boolean) => (node: NodeRow, values: string[]) => values.some((v) => check(node, v));

const checks: { [K in keyof NodeFilters]-?: (node: NodeRow, values: string[]) => boolean } = {
  id: any((n, v) => n.id.startsWith(v)),
  name: any((n, v) => n.hostname.startsWith(v)),
  role: any((n, v) => n.role === v),
  // Every node that joined was accepted: shoal has no manual acceptance step.
  membership: any((_n, v) => v === "accepted"),
  label: (n, values) => matchesLabelFilters(n.engineLabels, values),
  "node.label": (n, values) => matchesLabelFilters(n.labels, values),
};

export function filterNodes(nodes: NodeRow[], filters: NodeFilters): NodeRow[] {
  const active = (Object.keys(checks) as (keyof NodeFilters)[]).filter((k) => filters[k]?.length);
  return nodes.filter((n) => active.every((k) => checks[k](n, filters[k]!)));
}

