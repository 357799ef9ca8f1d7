import type { NodeRow } from "../db/nodes.js";
import { labelMatches } from "./label-filter.js";

/** docker node ls filters; values of one filter are alternatives, different filters must all hold. */
export interface NodeFilters {
  id?: string[];
  name?: string[];
  role?: string[];
  membership?: string[];
  label?: string[];
  "node.label"?: string[];
}

const checks: { [K in keyof NodeFilters]-?: (node: NodeRow, value: string) => boolean } = {
  id: (n, v) => n.id.startsWith(v),
  name: (n, v) => n.hostname.startsWith(v),
  role: (n, v) => n.role === v,
  // Every node that joined was accepted: shoal has no manual acceptance step.
  membership: (_n, v) => v === "accepted",
  label: (n, v) => labelMatches(n.engineLabels, v),
  "node.label": (n, v) => labelMatches(n.labels, v),
};

export function filterNodes(nodes: NodeRow[], filters: NodeFilters): NodeRow[] {
  const active = (Object.keys(checks) as (keyof NodeFilters)[]).filter((k) => filters[k]?.length);
  return nodes.filter((n) => active.every((k) => filters[k]!.some((v) => checks[k](n, v))));
}

