import type { NetworkRow } from "../db/networks.js";
import { matchesLabelFilters } from "./label-filter.js";

/** docker network ls filters: id prefix, name (part of it), labels (all must hold), driver, scope, type (builtin: ingress). */
export interface NetworkFilters {
  id?: string[];
  name?: string[];
  label?: string[];
  driver?: string[];
  scope?: string[];
  type?: string[];
}

export function filterNetworks(networks: NetworkRow[], f: NetworkFilters): NetworkRow[] {
  return networks.filter(
    (n) =>
      (!f.id?.length || f.id.some((v) => n.id.startsWith(v))) &&
      (!f.name?.length || f.name.some((v) => n.name.includes(v))) &&
      matchesLabelFilters(n.labels, f.label) &&
      (!f.driver?.length || f.driver.includes(n.driver)) &&
      (!f.scope?.length || f.scope.includes("swarm")) &&
      (!f.type?.length || f.type.includes(n.ingress ? "builtin" : "custom")),
  );
}
