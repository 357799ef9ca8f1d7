import { InvalidArgumentError, Option } from "commander";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Service } from "../api-types.js";
import { action, collect, removeEach, type CommandGroup } from "../cli.js";
import { filterQuery, parseFilters } from "../filters.js";
import { renderList, type Column } from "../format/output.js";
import { UsageError } from "../format/units.js";
import { renderServices } from "../service-views.js";
import { deployEnv, envFilePaths, objectFilePaths, serviceImages } from "../stack-files.js";
import { registryConfigHeader } from "../docker-auth.js";
import { imageRegistry } from "../../domain/image-ref.js";
import { addTaskListOptions, printTasks, type TaskListFlags } from "../task-list.js";
import { naturalCompare } from "../task-table.js";
import { waitForService } from "../wait.js";

/** `shoal stack …`: docker stack's commands over /v1/stacks. */

const stackPath = (name: string) => `/v1/stacks/${encodeURIComponent(name)}`;
/** The label that makes a service part of a stack (as docker's). */
const namespaceLabel = "com.docker.stack.namespace";

interface DeployResult {
  stack: string;
  services: { name: string; id: string; action: "created" | "updated" | "unchanged" | "removed" }[];
  warnings: string[];
}

interface StackSummary {
  name: string;
  services: number;
}

const stackColumns: Column<StackSummary>[] = [
  { field: "Name", header: "NAME", value: (s) => s.name },
  { field: "Services", header: "SERVICES", value: (s) => String(s.services) },
];

/** docker's boolean flag value: `--detach=false`. */
function parseBool(value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new InvalidArgumentError("write --detach=true or --detach=false");
}

interface DeployFlags {
  composeFile?: string[];
  prune?: boolean;
  withRegistryAuth?: boolean;
  detach: boolean;
  d?: boolean;
  quiet?: boolean;
}

export const registerStackCommands: CommandGroup = (program, cli) => {
  const stack = program.command("stack").description("Manage stacks");

  stack
    .command("deploy")
    .alias("up")
    .description("Deploy a new stack or update an existing stack")
    .argument("<stack>")
    .option("-c, --compose-file <file>", "Path to a Compose file, or '-' to read from stdin", collect)
    .option("--prune", "Prune services that are no longer referenced")
    .option("--with-registry-auth", "Send registry authentication details to the nodes (the logins of the images' registries in ~/.docker/config.json)")
    .addOption(new Option("--detach [bool]", "Exit immediately instead of waiting for the stack services to converge").default(true).argParser(parseBool))
    .option("-d", "Same as --detach=true")
    .option("-q, --quiet", "Suppress progress output")
    .action(
      action(async (name: string, opts: DeployFlags) => {
        const paths = opts.composeFile ?? [];
        if (paths.length === 0) throw new UsageError("specify at least one compose file (-c, --compose-file)");
        const files = await Promise.all(paths.map((p) => (p === "-" ? cli.readStdin() : readFile(cli.path(p), "utf8"))));
        const workingDir = paths[0] === "-" ? cli.path(".") : dirname(cli.path(paths[0]!));
        const env = deployEnv(cli.env);
        const envFiles: Record<string, string> = {};
        for (const path of envFilePaths(files, env)) {
          try {
            envFiles[path] = await readFile(resolve(workingDir, path), "utf8");
          } catch (err) {
            throw new Error(`env_file ${path}: ${(err as Error).message}`);
          }
        }
        // Secrets' and configs' files, relative to the first compose file's directory (docker's), as bytes.
        const objectFiles: Record<string, string> = {};
        for (const path of objectFilePaths(files, env)) {
          try {
            objectFiles[path] = (await readFile(resolve(workingDir, path))).toString("base64");
          } catch (err) {
            throw new Error(`file ${path}: ${(err as Error).message}`);
          }
        }
        const headers = opts.withRegistryAuth ? await registryConfigHeader(cli.env, serviceImages(files, env).map(imageRegistry)) : {};
        const client = await cli.client();
        const result = await client.call<DeployResult>("PUT", stackPath(name), { headers, body: { files, env, workingDir, envFiles, objectFiles, prune: Boolean(opts.prune) } });
        for (const s of result.services) {
          if (s.action === "created") cli.out(`Creating service ${s.name}\n`);
          else if (s.action === "removed") cli.out(`Removing service ${s.name}\n`);
          else cli.out(`Updating service ${s.name} (id: ${s.id})\n`);
        }
        for (const warning of result.warnings) cli.err(`${warning}\n`);
        if (opts.d || opts.detach) return;
        for (const s of result.services) {
          if (s.action !== "created" && s.action !== "updated") continue;
          const service = await client.get<Service>(`/v1/services/${encodeURIComponent(s.id)}`);
          await waitForService(cli, client, s.id, s.action === "created" ? "create" : "update", service.updatedAt, Boolean(opts.quiet));
        }
      }),
    );

  stack
    .command("ls")
    .alias("list")
    .description("List stacks")
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .action(
      action(async (opts: { format?: string }) => {
        const stacks = await (await cli.client()).get<StackSummary[]>("/v1/stacks");
        cli.out(renderList(stacks, stackColumns, { format: opts.format }));
      }),
    );

  stack
    .command("services")
    .description("List the services in the stack")
    .argument("<stack>")
    .option("-f, --filter <filter>", "Filter output based on conditions provided (id, name, label, mode)", collect)
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display IDs")
    .action(
      action(async (name: string, opts: { filter?: string[]; format?: string; quiet?: boolean }) => {
        const query = filterQuery(parseFilters(opts.filter ?? [], ["id", "name", "label", "mode"]), { mode: (v) => v.replace(" ", "-") });
        query.label = [`${namespaceLabel}=${name}`, ...(query.label ?? [])];
        const services = await (await cli.client()).get<Service[]>("/v1/services", query);
        // As docker: an empty stack is a note on stderr, not an error.
        if (services.length === 0 && !opts.filter?.length) return cli.err(`Nothing found in stack: ${name}\n`);
        cli.out(renderServices(services, { format: opts.format, quiet: opts.quiet }));
      }),
    );

  const psFilters = ["id", "name", "node", "desired-state"];
  addTaskListOptions(stack.command("ps").description("List the tasks in the stack").argument("<stack>"), psFilters).action(
    action(async (name: string, flags: TaskListFlags) => {
      const client = await cli.client();
      const services = await client.get<Service[]>(`${stackPath(name)}/services`);
      if (services.length === 0) throw new Error(`nothing found in stack: ${name}`);
      await printTasks(cli, client, { service: services.map((s) => s.id) }, psFilters, flags);
    }),
  );

  stack
    .command("rm")
    .alias("remove")
    .alias("down")
    .description("Remove one or more stacks")
    .argument("<stack...>")
    .action(
      action(async (names: string[]) => {
        const client = await cli.client();
        await removeEach(
          cli,
          names,
          async (name) => {
            const services = await client.get<Service[]>(`${stackPath(name)}/services`);
            for (const s of [...services].sort((a, b) => naturalCompare(a.spec.name, b.spec.name))) cli.out(`Removing service ${s.spec.name}\n`);
            // docker stack rm names the secrets and configs it removes too.
            const label = encodeURIComponent(`com.docker.stack.namespace=${name}`);
            for (const kind of ["secret", "config"] as const)
              for (const o of await client.get<{ name: string }[]>(`/v1/${kind}s?label=${label}`)) cli.out(`Removing ${kind} ${o.name}\n`);
            await client.call("DELETE", stackPath(name));
          },
          false,
        );
      }),
    );
};
