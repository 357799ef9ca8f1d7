import type { Network } from "../api-types.js";
import { action, addInspectCommand, collect, removeEach, type CommandGroup } from "../cli.js";
import { filterQuery, parseFilters } from "../filters.js";
import { renderList, type Column } from "../format/output.js";
import { UsageError } from "../format/units.js";
import { parseLabel } from "../service-flags.js";

/** `shoal network …`: docker network's commands over /v1/networks (overlay networks, scope swarm). */

const networkPath = (ref: string) => `/v1/networks/${encodeURIComponent(ref)}`;

const networkColumns = (noTrunc: boolean): Column<Network>[] => [
  { field: "ID", header: "NETWORK ID", value: (n) => (noTrunc ? n.id : n.id.slice(0, 12)) },
  { field: "Name", header: "NAME", value: (n) => n.name },
  { field: "Driver", header: "DRIVER", value: (n) => n.driver },
  { field: "Scope", header: "SCOPE", value: (n) => n.scope },
  { field: "IPv6", header: "IPV6", value: () => "false", hidden: true },
  { field: "Internal", header: "INTERNAL", value: (n) => String(n.internal), hidden: true },
  { field: "Labels", header: "LABELS", value: (n) => Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(","), hidden: true },
  { field: "CreatedAt", header: "CREATED AT", value: (n) => n.createdAt, hidden: true },
];

/** `--opt k=v` (or a bare `--opt encrypted`) → driver options. */
function parseOptions(raw: string[]): Record<string, string> {
  return Object.fromEntries(
    raw.map((o) => {
      const at = o.indexOf("=");
      if (at === 0) throw new UsageError(`invalid option "${o}": no key`);
      return at < 0 ? [o, ""] : [o.slice(0, at), o.slice(at + 1)];
    }),
  );
}

const listFilters = ["driver", "id", "label", "name", "scope", "type"];

export const registerNetworkCommands: CommandGroup = (program, cli) => {
  const network = program.command("network").description("Manage networks");

  network
    .command("create")
    .description("Create a network")
    .argument("<network>")
    .option("-d, --driver <driver>", "Driver to manage the Network", "overlay")
    .option("--subnet <subnet>", "Subnet in CIDR format that represents a network segment")
    .option("--gateway <gateway>", "IPv4 Gateway for the master subnet")
    .option("-o, --opt <option>", "Set driver specific options (encrypted, com.docker.network.driver.mtu=N)", collect)
    .option("--internal", "Restrict external access to the network")
    .option("--attachable", "Enable manual container attachment")
    .option("--label <label>", "Set metadata on a network", collect)
    .action(
      action(async (name: string, opts: { driver: string; subnet?: string; gateway?: string; opt?: string[]; internal?: boolean; attachable?: boolean; label?: string[] }) => {
        const body = {
          name,
          driver: opts.driver,
          ...(opts.subnet ? { subnet: opts.subnet } : {}),
          ...(opts.gateway ? { gateway: opts.gateway } : {}),
          options: parseOptions(opts.opt ?? []),
          internal: opts.internal === true,
          attachable: opts.attachable === true,
          labels: Object.fromEntries((opts.label ?? []).map(parseLabel)),
        };
        const created = await (await cli.client()).call<Network>("POST", "/v1/networks", { body });
        cli.out(`${created.id}\n`);
      }),
    );

  network
    .command("ls")
    .alias("list")
    .description("List networks")
    .option("-f, --filter <filter>", `Provide filter values (${listFilters.join(", ")})`, collect)
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("--no-trunc", "Do not truncate the output")
    .option("-q, --quiet", "Only display network IDs")
    .action(
      action(async (opts: { filter?: string[]; format?: string; quiet?: boolean; trunc: boolean }) => {
        const query = filterQuery(parseFilters(opts.filter ?? [], listFilters));
        const networks = await (await cli.client()).get<Network[]>("/v1/networks", query);
        cli.out(renderList(networks, networkColumns(!opts.trunc), { format: opts.format, quiet: opts.quiet }));
      }),
    );

  addInspectCommand<Network>(network, cli, "network", networkPath, (n) => `${JSON.stringify(n, null, 4)}\n`);

  network
    .command("rm")
    .alias("remove")
    .description("Remove one or more networks")
    .argument("<network...>")
    .action(
      action(async (refs: string[]) => {
        const client = await cli.client();
        await removeEach(cli, refs, (ref) => client.call("DELETE", networkPath(ref)));
      }),
    );

  network
    .command("prune")
    .description("Remove all unused networks")
    .option("-f, --force", "Do not prompt for confirmation")
    .option("--filter <filter>", "Provide filter values (label=<key> or label=<key>=<value>)", collect)
    .action(
      action(async (opts: { force?: boolean; filter?: string[] }) => {
        const query = filterQuery(parseFilters(opts.filter ?? [], ["label"]));
        if (!opts.force) {
          cli.out("WARNING! This will remove all custom networks not used by at least one service.\nAre you sure you want to continue? [y/N] ");
          const answer = (await cli.readStdin()).split("\n")[0]!.trim().toLowerCase();
          if (answer !== "y" && answer !== "yes") {
            cli.out("\n");
            return;
          }
        }
        const { deleted } = await (await cli.client()).call<{ deleted: string[] }>("POST", "/v1/networks/prune", { query });
        if (deleted.length) cli.out(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join("")}`);
      }),
    );
};
