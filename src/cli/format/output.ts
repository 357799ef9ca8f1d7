import { maxTableColumns } from "../../domain/limits.js";
import { parseTemplate } from "./template.js";
import { UsageError } from "./units.js";

/**
 * docker's list and inspect output: tables aligned as Go's tabwriter does with
 * docker's settings (min width 10, padding 3), `-q`, `--format json` and
 * `--format` templates with or without the `table` prefix. Pure: returns text.
 */

const minWidth = 10;
const padding = 3;

const width = (s: string) => [...s].length;

/** The cells of a line: past maxTableColumns, the rest of the line is the last cell, tabs and all. */
function cellsOf(line: string): string[] {
  const cells = line.split("\t");
  return cells.length <= maxTableColumns ? cells : [...cells.slice(0, maxTableColumns - 1), cells.slice(maxTableColumns - 1).join("\t")];
}

/** Go's text/tabwriter: cells end at tabs; each column block is as wide as its widest cell + padding (at least minWidth). */
export function tabulate(lines: string[]): string {
  const cells = lines.map(cellsOf);
  const out: string[] = [];
  const widths: number[] = [];
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++)
      out.push(cells[i]!.map((c, j) => (j < widths.length ? c + " ".repeat(Math.max(0, widths[j]! - width(c))) : c)).join(""));
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    let start = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= cells[i]!.length - 1) continue;
      writeLines(start, i);
      start = i;
      let w = minWidth;
      for (; i < line1 && column < cells[i]!.length - 1; i++) w = Math.max(w, width(cells[i]![column]!) + padding);
      widths.push(w);
      format(start, i);
      widths.pop();
      start = i;
      i--;
    }
    writeLines(start, line1);
  };
  format(0, cells.length);
  return out.map((l) => `${l}\n`).join("");
}

export interface Column<R> {
  /** The template field name (docker's: ID, Name, Replicas…). */
  field: string;
  header: string;
  value: (row: R) => string;
  /** Only for templates and json, not in the default table. */
  hidden?: boolean;
}

export interface ListOptions {
  format?: string;
  quiet?: boolean;
}

/** docker replaces these escapes in --format before parsing. */
export const unescape = (f: string) => f.replaceAll("\\t", "\t").replaceAll("\\n", "\n");

export function renderList<R>(rows: R[], columns: Column<R>[], opts: ListOptions): string {
  const record = (row: R) => Object.fromEntries(columns.map((c) => [c.field, c.value(row)]));
  const format = opts.format?.trim() || "table";
  if (opts.quiet && format === "table") {
    const id = columns[0]!;
    return rows.map((r) => `${id.value(r).trim()}\n`).join("");
  }
  if (format === "json")
    return rows
      .map((r) => {
        const rec = record(r);
        return `${JSON.stringify(Object.fromEntries(Object.keys(rec).sort().map((k) => [k, rec[k]])))}\n`;
      })
      .join("");
  if (format === "table") {
    const shown = columns.filter((c) => !c.hidden);
    return tabulate([shown.map((c) => c.header).join("\t"), ...rows.map((r) => shown.map((c) => c.value(r)).join("\t"))]);
  }
  if (format.startsWith("table")) {
    const template = parseTemplate(unescape(format.slice("table".length).trim()));
    const headers = Object.fromEntries(columns.map((c) => [c.field, c.header]));
    return tabulate([template.render(headers), ...rows.map((r) => template.render(record(r)))].flatMap((t) => t.split("\n")));
  }
  const template = parseTemplate(unescape(format));
  return rows.map((r) => `${template.render(record(r))}\n`).join("");
}

/**
 * docker inspect: a JSON array indented by 4, or the template once per object.
 * `pretty` renders the human form (--pretty); `fallbacks[i]` is where a template
 * reads the fields object i does not have.
 */
export function renderInspect<T>(objects: T[], opts: { format?: string; pretty?: (o: T) => string; fallbacks?: unknown[] }): string {
  if (opts.pretty && opts.format && opts.format !== "pretty") throw new UsageError("--format and --pretty cannot be combined");
  if (opts.pretty) return objects.map(opts.pretty).join("\n\n");
  if (!opts.format || opts.format === "json") return `${JSON.stringify(objects, null, 4)}\n`;
  const template = parseTemplate(unescape(opts.format));
  return objects.map((o, i) => `${template.render(o, opts.fallbacks?.[i])}\n`).join("");
}

/** "Key:  value" lines aligned like docker's pretty inspect; nested lines start with a space. */
export function prettyLines(entries: (readonly [string, string | number | boolean] | readonly [string])[]): string {
  return tabulate(entries.map((e) => (e.length === 1 ? e[0] : `${e[0]}:\t${String(e[1])}`))).trimEnd();
}
