import type { Command } from "commander";
import type { Node, Service, Task } from "./api-types.js";
import { collect, type Cli } from "./cli.js";
import type { ApiClient } from "./client.js";
import { filterQuery, parseFilters } from "./filters.js";
import { renderTasks } from "./task-table.js";

/** `service ps` and `node ps`: the same options, the same fetch, the same table. */

export interface TaskListFlags {
  filter?: string[];
  format?: string;
  quiet?: boolean;
  trunc: boolean;
  resolve: boolean;
}

export function addTaskListOptions(cmd: Command, filterKeys: string[]): Command {
  return cmd
    .option("-f, --filter <filter>", `Filter output based on conditions provided (${filterKeys.join(", ")})`, collect)
    .option("--format <format>", "Pretty-print tasks using a template")
    .option("-q, --quiet", "Only display task IDs")
    .option("--no-trunc", "Do not truncate output")
    .option("--no-resolve", "Do not map IDs to Names");
}

/** Prints the tasks the API lists for `query` (service or node ids), with the -f filters applied. */
export async function printTasks(cli: Cli, client: ApiClient, query: Record<string, string[]>, filterKeys: string[], flags: TaskListFlags) {
  const filters = parseFilters(flags.filter ?? [], filterKeys);
  const [tasks, services, nodes] = await Promise.all([
    client.get<Task[]>("/v1/tasks", { ...query, ...filterQuery(filters, {}, ["id"]) }),
    client.get<Service[]>("/v1/services"),
    client.get<Node[]>("/v1/nodes"),
  ]);
  const ids = filters.get("id");
  const shown = ids ? tasks.filter((t) => ids.some((id) => t.id.startsWith(id))) : tasks;
  cli.out(renderTasks(shown, services, nodes, { noTrunc: !flags.trunc, noResolve: !flags.resolve, format: flags.format, quiet: flags.quiet, now: cli.now() }));
}
