import type { FileObjectRow } from "../db/file-objects.js";
import { matchesLabelFilters } from "./label-filter.js";

/** docker secret ls / config ls filters: id prefix, name prefix, exact names, labels (all must hold). */
export interface FileObjectFilters {
  id?: string[];
  name?: string[];
  names?: string[];
  label?: string[];
}

export function filterFileObjects(rows: FileObjectRow[], f: FileObjectFilters): FileObjectRow[] {
  return rows.filter(
    (o) =>
      (!f.id?.length || f.id.some((v) => o.id.startsWith(v))) &&
      (!f.name?.length || f.name.some((v) => o.name.startsWith(v))) &&
      (!f.names?.length || f.names.includes(o.name)) &&
      matchesLabelFilters(o.labels, f.label),
  );
}
