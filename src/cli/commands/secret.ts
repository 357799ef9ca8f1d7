import { readFile } from "node:fs/promises";
import type { FileObject } from "../api-types.js";
import { action, addInspectCommand, collect, removeEach, type Cli, type CommandGroup } from "../cli.js";
import { filterQuery, parseFilters } from "../filters.js";
import { renderList, type Column } from "../format/output.js";
import { humanDuration } from "../format/units.js";
import { parseLabel } from "../service-flags.js";

/** `shoal secret …` and `shoal config …`: docker's commands over /v1/secrets and /v1/configs. */

type Kind = "secret" | "config";

const ago = (now: number, at: string) => `${humanDuration(now - Date.parse(at))} ago`;

const columns = (kind: Kind, now: number): Column<FileObject>[] => [
  { field: "ID", header: "ID", value: (o) => o.id },
  { field: "Name", header: "NAME", value: (o) => o.name },
  ...(kind === "secret" ? [{ field: "Driver", header: "DRIVER", value: () => "" }] : []),
  { field: "CreatedAt", header: "CREATED", value: (o) => ago(now, o.createdAt) },
  { field: "UpdatedAt", header: "UPDATED", value: (o) => ago(now, o.updatedAt) },
  { field: "Labels", header: "LABELS", value: (o) => Object.entries(o.labels).map(([k, v]) => `${k}=${v}`).join(","), hidden: true },
];

/** docker config inspect --pretty: the fields, then the data as text. */
function pretty(o: FileObject, now: number): string {
  const lines = [`ID:\t\t\t${o.id}`, `Name:\t\t\t${o.name}`];
  const labels = Object.entries(o.labels);
  if (labels.length) lines.push("Labels:", ...labels.map(([k, v]) => ` - ${k}=${v}`));
  lines.push(`Created at:\t\t${o.createdAt} (${ago(now, o.createdAt)})`, `Updated at:\t\t${o.updatedAt}`);
  if (o.data !== undefined) lines.push("Data:", Buffer.from(o.data, "base64").toString("utf8"));
  return `${lines.join("\n")}\n`;
}

/** The file's bytes, or stdin's for `-` (bytes as they are: a secret may be binary). */
async function readData(cli: Cli, file: string): Promise<Buffer> {
  return file === "-" ? cli.readStdinBytes() : readFile(cli.path(file));
}

const listFilters = ["id", "label", "name", "names"];

function registerGroup(kind: Kind): CommandGroup {
  return (program, cli) => {
    const group = program.command(kind).description(`Manage swarm ${kind}s`);
    const pathOf = (ref: string) => `/v1/${kind}s/${encodeURIComponent(ref)}`;

    group
      .command("create")
      .description(`Create a ${kind} from a file or STDIN as content`)
      .argument(`<${kind}>`)
      .argument("<file|->")
      .option("-l, --label <label>", `${kind === "secret" ? "Secret" : "Config"} labels`, collect)
      .action(
        action(async (name: string, file: string, opts: { label?: string[] }) => {
          const data = (await readData(cli, file)).toString("base64");
          const body = { name, data, labels: Object.fromEntries((opts.label ?? []).map(parseLabel)) };
          const created = await (await cli.client()).call<FileObject>("POST", `/v1/${kind}s`, { body });
          cli.out(`${created.id}\n`);
        }),
      );

    group
      .command("ls")
      .alias("list")
      .description(`List ${kind}s`)
      .option("-f, --filter <filter>", `Filter output based on conditions provided (${listFilters.join(", ")})`, collect)
      .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
      .option("-q, --quiet", "Only display IDs")
      .action(
        action(async (opts: { filter?: string[]; format?: string; quiet?: boolean }) => {
          const query = filterQuery(parseFilters(opts.filter ?? [], listFilters));
          const objects = await (await cli.client()).get<FileObject[]>(`/v1/${kind}s`, query);
          cli.out(renderList(objects, columns(kind, cli.now()), { format: opts.format, quiet: opts.quiet }));
        }),
      );

    addInspectCommand<FileObject>(group, cli, kind, pathOf, pretty);

    group
      .command("rm")
      .alias("remove")
      .description(`Remove one or more ${kind}s`)
      .argument(`<${kind}...>`)
      .action(
        action(async (refs: string[]) => {
          const client = await cli.client();
          await removeEach(cli, refs, (ref) => client.call("DELETE", pathOf(ref)));
        }),
      );
  };
}

export const registerSecretCommands = registerGroup("secret");
export const registerConfigCommands = registerGroup("config");
