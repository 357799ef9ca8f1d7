import { Option, type Command } from "commander";
import { readFile } from "node:fs/promises";
import { generateServiceName } from "../names.js";
import type { Network, Service } from "../api-types.js";
import { action, addInspectCommand, collect, removeEach, type Cli, type CommandGroup } from "../cli.js";
import { retryOnStaleVersion, type ApiClient } from "../client.js";
import { UsageError } from "../format/units.js";
import { applyServiceUpdate, buildServiceSpec, parseNetwork, serviceOptionDefs } from "../service-flags.js";
import { prettyService, renderServices } from "../service-views.js";
import { addTaskListOptions, printTasks, type TaskListFlags } from "../task-list.js";
import { waitForService } from "../wait.js";
import { filterQuery, parseFilters } from "../filters.js";
import { addServiceHookCommands } from "./service-hook.js";
import { addServiceLogsCommand } from "./service-logs.js";
import { registryAuthHeader } from "../docker-auth.js";
import { imageRegistry } from "../../domain/image-ref.js";

/** `shoal service …`: docker service's commands over /v1/services and /v1/tasks. */

const servicePath = (ref: string) => `/v1/services/${encodeURIComponent(ref)}`;

interface WaitFlags {
  detach?: boolean;
  quiet?: boolean;
}

function addServiceOptions(cmd: Command, kind: "create" | "update") {
  for (const def of serviceOptionDefs(kind)) {
    if (def.repeatable) cmd.option(def.flags, def.help, collect);
    else cmd.option(def.flags, def.help);
  }
  cmd
    .option("--cap-add <capability>", "Add Linux capabilities", collect)
    .option("--cap-drop <capability>", "Drop Linux capabilities", collect)
    .option("--no-healthcheck", "Disable any container-specified HEALTHCHECK")
    .option("--with-registry-auth", "Send registry authentication details to the nodes (the image registry's login in ~/.docker/config.json)")
    .option("-d, --detach", "Exit immediately instead of waiting for the service to converge")
    .option("-q, --quiet", "Suppress progress output");
}

/** --with-registry-auth: the X-Registry-Auth header for the image, from the docker CLI's logins. */
const registryHeaders = async (cli: Cli, opts: Record<string, unknown>, image: string) =>
  opts.withRegistryAuth ? registryAuthHeader(cli.env, imageRegistry(image)) : {};

/** Waits unless -d, as docker does; -q hides the progress but still waits. */
async function maybeWait(cli: Cli, client: ApiClient, service: Service, kind: "create" | "update" | "scale" | "rollback", flags: WaitFlags) {
  if (flags.detach) return;
  await waitForService(cli, client, service.id, kind, service.updatedAt, Boolean(flags.quiet));
}

/**
 * Services store their networks by id: `--network-rm NAME` and `--network-add NAME`
 * name them by id too, so they match (and replace) what is attached.
 */
async function networksById(client: ApiClient, opts: Record<string, unknown>) {
  const byId = async (ref: string) => (await client.get<Network>(`/v1/networks/${encodeURIComponent(ref)}`)).id;
  if (Array.isArray(opts.networkRm)) opts.networkRm = await Promise.all(opts.networkRm.map((r: string) => byId(r)));
  if (Array.isArray(opts.networkAdd))
    opts.networkAdd = await Promise.all(
      opts.networkAdd.map(async (raw: string) => {
        const { target, aliases } = parseNetwork(raw);
        return [`name=${await byId(target)}`, ...aliases.map((a) => `alias=${a}`)].join(",");
      }),
    );
}

/** `service rollback` and `service update --rollback`: back to the previous spec. */
async function rollback(cli: Cli, client: ApiClient, ref: string, flags: WaitFlags) {
  const rolledBack = await client.call<Service>("POST", `${servicePath(ref)}/rollback`);
  cli.out(`${ref}\n`);
  await maybeWait(cli, client, rolledBack, "rollback", flags);
}

export const registerServiceCommands: CommandGroup = (program, cli) => {
  const service = program.command("service").description("Manage services");

  const create = service
    .command("create")
    .description("Create a new service")
    .usage("[OPTIONS] IMAGE [COMMAND] [ARG...]")
    .argument("<image>", "the image to run")
    .argument("[args...]", "the command and its arguments (replace the image's CMD)")
    .option("--name <name>", "Service name (default: a generated one, as docker's)")
    .addOption(new Option("--mode <mode>", "Service mode").choices(["replicated", "global", "replicated-job", "global-job"]))
    .option("--env-file <file>", "Read in a file of environment variables", collect)
    .passThroughOptions();
  addServiceOptions(create, "create");
  create.action(
    action(async (image: string, args: string[], opts: Record<string, unknown>) => {
      const envFiles = await Promise.all(((opts.envFile as string[] | undefined) ?? []).map((f) => readFile(cli.path(f), "utf8")));
      const spec = buildServiceSpec(image, args, { ...opts, name: opts.name ?? generateServiceName() }, envFiles);
      const headers = await registryHeaders(cli, opts, image);
      const client = await cli.client();
      const created = await client.call<Service>("POST", "/v1/services", { headers, body: spec });
      cli.out(`${created.id}\n`);
      await maybeWait(cli, client, created, "create", opts);
    }),
  );

  service
    .command("ls")
    .alias("list")
    .description("List services")
    .option("-f, --filter <filter>", "Filter output based on conditions provided (id, name, label, mode)", collect)
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display IDs")
    .option("--no-trunc", "Do not truncate output")
    .action(
      action(async (opts: { filter?: string[]; format?: string; quiet?: boolean; trunc: boolean }) => {
        const query = filterQuery(parseFilters(opts.filter ?? [], ["id", "name", "label", "mode"]), { mode: (v) => v.replace(" ", "-") });
        const services = await (await cli.client()).get<Service[]>("/v1/services", query);
        cli.out(renderServices(services, { format: opts.format, quiet: opts.quiet, noTrunc: !opts.trunc }));
      }),
    );

  const psFilters = ["id", "name", "node", "desired-state"];
  addTaskListOptions(service.command("ps").description("List the tasks of one or more services").argument("<service...>"), psFilters).action(
    action(async (refs: string[], flags: TaskListFlags) => {
      const client = await cli.client();
      const services = await Promise.all(refs.map((r) => client.get<Service>(servicePath(r))));
      await printTasks(cli, client, { service: services.map((s) => s.id) }, psFilters, flags);
    }),
  );

  addInspectCommand<Service>(service, cli, "service", servicePath, prettyService, (s) => `/docker/v1.41/services/${encodeURIComponent(s.id)}`);

  service
    .command("scale")
    .description("Scale one or multiple replicated services")
    .usage("SERVICE=REPLICAS [SERVICE=REPLICAS...]")
    .argument("<service=replicas...>")
    .option("-d, --detach", "Exit immediately instead of waiting for the service to converge")
    .option("-q, --quiet", "Suppress progress output")
    .action(
      action(async (pairs: string[], opts: WaitFlags) => {
        const services: Record<string, number> = {};
        for (const pair of pairs) {
          const m = /^([^=]+)=(\d+)$/.exec(pair);
          if (!m) throw new UsageError(`invalid scale specifier '${pair}': write SERVICE=REPLICAS, like web=3`);
          services[m[1]!] = Number(m[2]);
        }
        const client = await cli.client();
        const scaled = await client.call<Service[]>("POST", "/v1/services/scale", { body: { services } });
        for (const [ref, replicas] of Object.entries(services)) cli.out(`${ref} scaled to ${replicas}\n`);
        for (const s of scaled) await maybeWait(cli, client, s, "scale", opts);
      }),
    );

  const update = service
    .command("update")
    .description("Update a service")
    .argument("<service>")
    .option("--image <image>", "Service image tag")
    .option("--args <command>", "Service command args")
    .option("--force", "Force update even if no changes require it")
    .option("--rollback", "Rollback to previous specification");
  addServiceOptions(update, "update");
  update.action(
    action(async (ref: string, opts: Record<string, unknown>) => {
      const client = await cli.client();
      if (opts.rollback) return rollback(cli, client, ref, opts);
      await networksById(client, opts);
      const updated = await retryOnStaleVersion(async () => {
        const current = await client.get<Service>(servicePath(ref));
        const spec = applyServiceUpdate(current.spec, opts);
        const headers = await registryHeaders(cli, opts, spec.task.container.image);
        return client.call<Service>("PUT", servicePath(current.id), { headers, query: { version: String(current.version) }, body: spec });
      });
      cli.out(`${ref}\n`);
      await maybeWait(cli, client, updated, "update", opts);
    }),
  );

  service
    .command("rollback")
    .description("Revert changes to a service's configuration")
    .argument("<service>")
    .option("-d, --detach", "Exit immediately instead of waiting for the service to converge")
    .option("-q, --quiet", "Suppress progress output")
    .action(
      action(async (ref: string, opts: WaitFlags) => rollback(cli, await cli.client(), ref, opts)),
    );

  service
    .command("rm")
    .alias("remove")
    .description("Remove one or more services")
    .argument("<service...>")
    .action(
      action(async (refs: string[]) => {
        const client = await cli.client();
        await removeEach(cli, refs, (r) => client.call("DELETE", servicePath(r)));
      }),
    );

  addServiceHookCommands(service, cli);
  addServiceLogsCommand(service, cli);
};
