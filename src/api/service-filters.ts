import type { ServiceRow } from "../db/services.js";
import { matchesLabelFilters } from "./label-filter.js";

/** docker service ls filters: id and name prefixes, labels (all must hold), modes. */
export interface ServiceFilters {
  id?: string[];
  name?: string[];
  label?: string[];
  mode?: string[];
}

export function filterServices(services: ServiceRow[], f: ServiceFilters): ServiceRow[] {
  return services.filter(
    (s) =>
      (!f.id?.length || f.id.some((v) => s.id.startsWith(v))) &&
      (!f.name?.length || f.name.some((v) => s.name.startsWith(v))) &&
      matchesLabelFilters(s.spec.labels, f.label) &&
      (!f.mode?.length || f.mode.includes(s.mode)),
  );
}
