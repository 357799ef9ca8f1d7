import { Option } from "commander";
import { hostname } from "node:os";
import type { Node } from "../api-types.js";
import { action, addInspectCommand, collect, removeEach, type CommandGroup } from "../cli.js";
import { retryOnStaleVersion, type ApiClient } from "../client.js";
import { filterQuery, parseFilters } from "../filters.js";
import { parseLabel } from "../service-flags.js";
import { addTaskListOptions, printTasks, type TaskListFlags } from "../task-list.js";
import { renderList, type Column } from "../format/output.js";
import { capitalize, formatBytes } from "../format/units.js";
import { naturalCompare } from "../task-table.js";

/** `shoal node …`: docker node's commands over /v1/nodes. */

const nodePath = (ref: string) => `/v1/nodes/${encodeURIComponent(ref)}`;

/** Manager nodes are reachable or not; shoal has no raft, so there is no leader. */
const managerStatus = (n: Node) => (n.spec.role !== "manager" ? "" : n.status.state === "ready" ? "Reachable" : "Unreachable");

const nodeColumns: Column<Node>[] = [
  // docker's default table is "{{.ID}} {{if .Self}}*{{else}} {{end}}": the CLI is never a node itself here.
  { field: "ID", header: "ID", value: (n) => n.id },
  { field: "Hostname", header: "HOSTNAME", value: (n) => n.description.hostname },
  { field: "Status", header: "STATUS", value: (n) => capitalize(n.status.state) },
  { field: "Availability", header: "AVAILABILITY", value: (n) => capitalize(n.spec.availability) },
  { field: "ManagerStatus", header: "MANAGER STATUS", value: managerStatus },
  { field: "EngineVersion", header: "ENGINE VERSION", value: (n) => n.description.engine.version },
  { field: "Self", header: "", value: () => "false", hidden: true },
  { field: "TLSStatus", header: "TLS STATUS", value: () => "Unknown", hidden: true },
];

/** The default table pads the ID as docker's "{{.ID}} {{if .Self}}*{{else}} {{end}}" does. */
const tableColumns = nodeColumns.map((c) => (c.field === "ID" ? { ...c, header: "ID  ", value: (n: Node) => `${n.id}  ` } : c));

const bullet = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => ` - ${k}${v ? `=${v}` : ""}`);

/** `node inspect --pretty`, following docker's template. */
function prettyNode(n: Node): string {
  const out = [`ID:\t\t\t${n.id}`];
  if (Object.keys(n.spec.labels).length) out.push("Labels:", ...bullet(n.spec.labels));
  out.push(
    `Hostname:              \t${n.description.hostname}`,
    `Joined at:             \t${n.createdAt}`,
    "Status:",
    ` State:\t\t\t${capitalize(n.status.state)}`,
    ...(n.status.message ? [` Message:              \t${capitalize(n.status.message)}`] : []),
    ` Availability:         \t${capitalize(n.spec.availability)}`,
    ...(n.status.addr ? [` Address:\t\t${n.status.addr}`] : []),
  );
  if (n.spec.role === "manager") out.push("Manager Status:", ` Raft Status:\t\t${managerStatus(n)}`, " Leader:\t\tNo");
  out.push(
    "Platform:",
    ` Operating System:\t${n.description.platform.os}`,
    ` Architecture:\t\t${n.description.platform.architecture}`,
    "Resources:",
    ` CPUs:\t\t\t${Math.floor(n.description.resources.nanoCpus / 1e9)}`,
    ` Memory:\t\t${n.description.resources.memoryBytes ? formatBytes(n.description.resources.memoryBytes) : ""}`,
    `Engine Version:\t\t${n.description.engine.version}`,
  );
  if (Object.keys(n.description.engine.labels).length) out.push("Engine Labels:", ...bullet(n.description.engine.labels));
  return `${out.join("\n")}\n`;
}

/** PATCH with the node's current version. */
const updateNode = (client: ApiClient, ref: string, body: Record<string, unknown>) =>
  retryOnStaleVersion(async () => {
    const node = await client.get<Node>(nodePath(ref));
    return client.call<Node>("PATCH", nodePath(node.id), { query: { version: String(node.version) }, body });
  });

export const registerNodeCommands: CommandGroup = (program, cli) => {
  const node = program.command("node").description("Manage nodes");

  node
    .command("ls")
    .alias("list")
    .description("List nodes in the swarm")
    .option("-f, --filter <filter>", "Filter output based on conditions provided (id, label, node.label, membership, name, role)", collect)
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display IDs")
    .action(
      action(async (opts: { filter?: string[]; format?: string; quiet?: boolean }) => {
        const query = filterQuery(parseFilters(opts.filter ?? [], ["id", "label", "node.label", "membership", "name", "role"]));
        const nodes = (await (await cli.client()).get<Node[]>("/v1/nodes", query)).sort((a, b) =>
          naturalCompare(a.description.hostname, b.description.hostname),
        );
        const columns = !opts.format || opts.format.trim() === "table" ? tableColumns : nodeColumns;
        cli.out(renderList(nodes, columns, { format: opts.format, quiet: opts.quiet }));
      }),
    );

  addInspectCommand<Node>(node, cli, "node", nodePath, prettyNode, (n) => `/docker/v1.41/nodes/${encodeURIComponent(n.id)}`);

  const psFilters = ["id", "name", "desired-state"];
  addTaskListOptions(
    node.command("ps").description("List tasks running on one or more nodes, defaults to this machine's hostname").argument("[node...]"),
    psFilters,
  ).action(
    action(async (refs: string[], flags: TaskListFlags) => {
      const client = await cli.client();
      const wanted = await Promise.all((refs.length ? refs : [hostname()]).map((r) => client.get<Node>(nodePath(r))));
      await printTasks(cli, client, { node: wanted.map((n) => n.id) }, psFilters, flags);
    }),
  );

  node
    .command("update")
    .description("Update a node")
    .argument("<node>")
    .addOption(new Option("--availability <availability>", "Availability of the node").choices(["active", "pause", "drain"]))
    .addOption(new Option("--role <role>", "Role of the node").choices(["worker", "manager"]))
    .option("--label-add <key=value>", "Add or update a node label", collect)
    .option("--label-rm <key>", "Remove a node label if exists", collect)
    .action(
      action(async (ref: string, opts: { availability?: string; role?: string; labelAdd?: string[]; labelRm?: string[] }) => {
        const body: Record<string, unknown> = {};
        if (opts.availability) body.availability = opts.availability;
        if (opts.role) body.role = opts.role;
        if (opts.labelAdd)
          body.labelAdd = Object.fromEntries(opts.labelAdd.map(parseLabel));
        if (opts.labelRm) body.labelRm = opts.labelRm;
        await updateNode(await cli.client(), ref, body);
        cli.out(`${ref}\n`);
      }),
    );

  for (const [name, role, done] of [
    ["promote", "manager", (ref: string) => `Node ${ref} promoted to a manager in the swarm.`],
    ["demote", "worker", (ref: string) => `Manager ${ref} demoted in the swarm.`],
  ] as const)
    node
      .command(name)
      .description(name === "promote" ? "Promote one or more nodes to manager in the swarm" : "Demote one or more nodes from manager in the swarm")
      .argument("<node...>")
      .action(
        action(async (refs: string[]) => {
          const client = await cli.client();
          for (const ref of refs) {
            const current = await client.get<Node>(nodePath(ref));
            if (current.spec.role === role) {
              cli.out(`Node ${ref} is already a ${role}.\n`);
              continue;
            }
            await updateNode(client, ref, { role });
            cli.out(`${done(ref)}\n`);
          }
        }),
      );

  node
    .command("rm")
    .alias("remove")
    .description("Remove one or more nodes from the swarm")
    .argument("<node...>")
    .option("-f, --force", "Force remove a node from the swarm")
    .action(
      action(async (refs: string[], opts: { force?: boolean }) => {
        const client = await cli.client();
        await removeEach(cli, refs, (ref) => client.call("DELETE", nodePath(ref), { query: opts.force ? { force: "true" } : {} }));
      }),
    );
};
