import { hashTaskSpec, taskSpecOf } from "../domain/task-spec.js";
import type { Node, Service, Task } from "./api-types.js";
import { renderList, type Column } from "./format/output.js";
import { capitalize, humanDuration, truncateId } from "./format/units.js";

/**
 * The task list of `service ps` and `node ps`, as docker prints it: tasks of a
 * slot together, newest first, older ones indented ` \_ name`. Pure.
 */

export interface TaskListOptions {
  noTrunc?: boolean;
  noResolve?: boolean;
  format?: string;
  quiet?: boolean;
  now: number;
}

/** docker shows images without their digest unless --no-trunc. */
export const displayImage = (image: string, noTrunc = false) => (noTrunc ? image : image.replace(/@sha256:[0-9a-f]+$/, ""));

/** Natural order ("web.2" before "web.10"), as docker sorts names. */
export const naturalCompare = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** The spec a task runs: the service's current one, or its previous one when the hash says so. */
function specOf(task: Task, service: Service | undefined) {
  if (!service) return undefined;
  if (service.previousSpec && task.specHash !== hashTaskSpec(taskSpecOf(service.spec)) && task.specHash === hashTaskSpec(taskSpecOf(service.previousSpec)))
    return service.previousSpec;
  return service.spec;
}

export function renderTasks(tasks: Task[], services: Service[], nodes: Node[], opts: TaskListOptions): string {
  const serviceById = new Map(services.map((s) => [s.id, s]));
  const hostById = new Map(nodes.map((n) => [n.id, n.description.hostname]));
  const named = tasks.map((t) => {
    const service = serviceById.get(t.serviceId);
    const serviceName = opts.noResolve ? t.serviceId : (service?.spec.name ?? t.serviceId);
    return { task: t, service, name: `${serviceName}.${t.slot ?? t.nodeId}` };
  });
  named.sort((a, b) => naturalCompare(a.name, b.name) || Date.parse(b.task.createdAt) - Date.parse(a.task.createdAt));
  const tableLike = !opts.format || opts.format.trim().startsWith("table");
  const rows = named.map((r, i) => ({ ...r, shown: i > 0 && named[i - 1]!.name === r.name && tableLike ? ` \\_ ${r.name}` : r.name }));
  type Row = (typeof rows)[number];
  const columns: Column<Row>[] = [
    { field: "ID", header: "ID", value: (r) => (opts.noTrunc ? r.task.id : truncateId(r.task.id)) },
    { field: "Name", header: "NAME", value: (r) => r.shown },
    { field: "Image", header: "IMAGE", value: (r) => displayImage(r.task.image, opts.noTrunc) },
    {
      field: "Node",
      header: "NODE",
      value: (r) => (r.task.nodeId === null ? "" : opts.noResolve ? r.task.nodeId : (hostById.get(r.task.nodeId) ?? r.task.nodeId)),
    },
    { field: "DesiredState", header: "DESIRED STATE", value: (r) => capitalize(r.task.desiredState) },
    {
      field: "CurrentState",
      header: "CURRENT STATE",
      value: (r) => `${capitalize(r.task.status.state)} ${humanDuration(opts.now - Date.parse(r.task.status.timestamp)).toLowerCase()} ago`,
    },
    {
      field: "Error",
      header: "ERROR",
      value: (r) => {
        const error = opts.noTrunc ? r.task.status.error : ellipsis(r.task.status.error, 30);
        return error ? `"${error}"` : "";
      },
    },
    { field: "Ports", header: "PORTS", value: (r) => taskPorts(r.task, specOf(r.task, r.service)) },
  ];
  return renderList(rows, columns, opts);
}

/** docker's Ellipsis: at most `max` characters, the last one "…" when cut. */
const ellipsis = (s: string, max: number) => ([...s].length > max ? `${[...s].slice(0, max - 1).join("")}…` : s);

/** Host-mode ports a running task publishes on its node. */
function taskPorts(task: Task, spec: Service["spec"] | undefined): string {
  if (!spec || task.status.state !== "running") return "";
  return spec.endpoint.ports
    .filter((p) => p.publishMode === "host" && p.publishedPort !== undefined)
    .map((p) => `*:${p.publishedPort}->${p.targetPort}/${p.protocol}`)
    .join(",");
}
