import type { Service } from "./api-types.js";
import { renderList, type Column, type ListOptions } from "./format/output.js";
import { formatBytes, formatDurationMs, humanDuration, truncateId } from "./format/units.js";
import { displayImage, naturalCompare } from "./task-table.js";

/** `service ls` and `service inspect --pretty` as docker prints them. Pure. */

const modeNames: Record<Service["spec"]["mode"], string> = {
  replicated: "replicated",
  global: "global",
  "replicated-job": "replicated job",
  "global-job": "global job",
};

export function replicasText(s: Service): string {
  const { runningTasks: running, desiredTasks: desired, completedTasks: completed } = s.serviceStatus;
  if (s.spec.mode === "replicated-job") return `${running}/${desired} (${completed}/${s.spec.replicas} completed)`;
  if (s.spec.mode === "global-job") return `${running}/${desired} (${completed}/${desired + completed} completed)`;
  const max = s.spec.mode === "replicated" ? s.spec.task.placement.maxReplicasPerNode : 0;
  return max > 0 ? `${running}/${desired} (max ${max} per node)` : `${running}/${desired}`;
}

/** Ingress ports, consecutive ones grouped into ranges: "*:8080-8081->80-81/tcp". */
export function ingressPortsText(s: Service): string {
  const ports = s.spec.endpoint.ports
    .filter((p) => p.publishMode === "ingress" && p.publishedPort !== undefined)
    .map((p) => ({ published: p.publishedPort!, target: p.targetPort, protocol: p.protocol }))
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published);
  const ranges: { p0: number; p1: number; t0: number; t1: number; protocol: string }[] = [];
  for (const p of ports) {
    const r = ranges.at(-1);
    if (r && r.protocol === p.protocol && p.published === r.p1 + 1 && p.target === r.t1 + 1) {
      r.p1 = p.published;
      r.t1 = p.target;
    } else ranges.push({ p0: p.published, p1: p.published, t0: p.target, t1: p.target, protocol: p.protocol });
  }
  const span = (a: number, b: number) => (b > a ? `${a}-${b}` : `${a}`);
  return ranges.map((r) => `*:${span(r.p0, r.p1)}->${span(r.t0, r.t1)}/${r.protocol}`).join(", ");
}

export function renderServices(services: Service[], opts: ListOptions & { noTrunc?: boolean }): string {
  const columns: Column<Service>[] = [
    { field: "ID", header: "ID", value: (s) => (opts.noTrunc ? s.id : truncateId(s.id)) },
    { field: "Name", header: "NAME", value: (s) => s.spec.name },
    { field: "Mode", header: "MODE", value: (s) => modeNames[s.spec.mode] },
    { field: "Replicas", header: "REPLICAS", value: replicasText },
    { field: "Image", header: "IMAGE", value: (s) => displayImage(s.spec.task.container.image, opts.noTrunc) },
    { field: "Ports", header: "PORTS", value: ingressPortsText },
  ];
  return renderList([...services].sort((a, b) => naturalCompare(a.spec.name, b.spec.name)), columns, opts);
}

/** Go prints a []string as [a b]. */
const goList = (items: string[]) => `[${items.join(" ")}]`;

/** `service inspect --pretty`, following docker's template (tabs included). */
export function prettyService(s: Service, now: number): string {
  const spec = s.spec;
  const c = spec.task.container;
  const out: string[] = [`ID:\t\t${s.id}`, `Name:\t\t${spec.name}`];
  const labels = Object.entries(spec.labels);
  if (labels.length) out.push("Labels:", ...labels.map(([k, v]) => ` ${k}${v ? `=${v}` : ""}`));
  if (spec.mode === "global") out.push("Service Mode:\tGlobal");
  else if (spec.mode === "replicated") out.push("Service Mode:\tReplicated", ` Replicas:\t${spec.replicas}`);
  else out.push(`Service Mode:\t${spec.mode === "global-job" ? "Global job" : "Replicated job"}`, ` Replicas:\t${spec.replicas}`);
  if (s.updateStatus) {
    const u = s.updateStatus;
    out.push("UpdateStatus:", ` State:\t\t${u.state}`, ` Started:\t${humanDuration(now - Date.parse(u.startedAt))} ago`);
    if (u.state === "completed" && u.completedAt) out.push(` Completed:\t${humanDuration(now - Date.parse(u.completedAt))} ago`);
    out.push(` Message:\t${u.message}`);
  }
  const p = spec.task.placement;
  out.push("Placement:");
  if (p.constraints.length) out.push(` Constraints:\t${goList(p.constraints)}`);
  if (p.preferences.length) out.push(` Preferences:   ${goList(p.preferences.map((x) => `spread=${x.spread}`))}`);
  if (p.maxReplicasPerNode) out.push(` Max Replicas Per Node:   ${p.maxReplicasPerNode}`);
  for (const [title, cfg, order] of [
    ["UpdateConfig", spec.update, "Update order:     "],
    ["RollbackConfig", spec.rollback, "Rollback order:   "],
  ] as const) {
    out.push(`${title}:`, ` Parallelism:\t${cfg.parallelism}`);
    if (cfg.delayMs) out.push(` Delay:\t\t${formatDurationMs(cfg.delayMs)}`);
    out.push(` On failure:\t${cfg.failureAction}`);
    if (cfg.monitorMs) out.push(` Monitoring Period: ${formatDurationMs(cfg.monitorMs)}`);
    out.push(` Max failure ratio: ${cfg.maxFailureRatio}`, ` ${order} ${cfg.order}`);
  }
  out.push("ContainerSpec:", ` Image:\t\t${c.image}`);
  if (c.args.length) out.push(` Args:\t\t${c.args.map((a) => `${a} `).join("")}`);
  if (c.env.length) out.push(` Env:\t\t${c.env.map((e) => `${e} `).join("")}`);
  if (c.workdir) out.push(` Dir:\t\t${c.workdir}`);
  out.push(` Init:\t\t${c.init}`);
  if (c.user) out.push(` User: ${c.user}`);
  if (c.capAdd.length || c.capDrop.length) {
    out.push("Capabilities:");
    if (c.capAdd.length) out.push(` Add: ${c.capAdd.join(", ")}`);
    if (c.capDrop.length) out.push(` Drop: ${c.capDrop.join(", ")}`);
  }
  if (c.mounts.length) {
    out.push("Mounts:");
    for (const m of c.mounts) out.push(` Target:\t${m.target}`, `  Source:\t${m.source}`, `  ReadOnly:\t${m.readOnly}`, `  Type:\t\t${m.type}`);
  }
  const { limits, reservations } = spec.task.resources;
  if (reservations.nanoCpus || reservations.memoryBytes || limits.nanoCpus || limits.memoryBytes || limits.pids) {
    out.push("Resources:");
    if (reservations.nanoCpus || reservations.memoryBytes) {
      out.push(" Reservations:");
      if (reservations.nanoCpus) out.push(`  CPU:\t\t${reservations.nanoCpus / 1e9}`);
      if (reservations.memoryBytes) out.push(`  Memory:\t${formatBytes(reservations.memoryBytes)}`);
    }
    if (limits.nanoCpus || limits.memoryBytes || limits.pids) {
      out.push(" Limits:");
      if (limits.nanoCpus) out.push(`  CPU:\t\t${limits.nanoCpus / 1e9}`);
      if (limits.memoryBytes) out.push(`  Memory:\t${formatBytes(limits.memoryBytes)}`);
      if (limits.pids) out.push(`  PIDs:\t\t${limits.pids}`);
    }
  }
  if (spec.task.networks.length) out.push(`Networks:${spec.task.networks.map((n) => ` ${n.target}`).join("")} `);
  out.push(`Endpoint Mode:\t${spec.endpoint.mode}`);
  if (spec.endpoint.ports.length) {
    out.push("Ports:");
    for (const port of spec.endpoint.ports)
      out.push(
        ` PublishedPort = ${port.publishedPort ?? 0}`,
        `  Protocol = ${port.protocol}`,
        `  TargetPort = ${port.targetPort}`,
        `  PublishMode = ${port.publishMode}`,
      );
  }
  if (c.healthcheck) {
    const h = c.healthcheck;
    out.push(
      " Healthcheck:",
      `  Interval = ${formatDurationMs(h.intervalMs)}`,
      `  Retries = ${h.retries}`,
      `  StartPeriod =\t${formatDurationMs(h.startPeriodMs)}`,
      `  Timeout =\t${formatDurationMs(h.timeoutMs)}`,
      "  Tests:",
      ...h.test.map((t) => `\t Test = ${t}`),
    );
  }
  return `${out.join("\n")}\n`;
}
