import type { Command } from "commander";
import { action, removeEach, type Cli } from "../cli.js";
import { renderList, type Column } from "../format/output.js";
import { humanDuration } from "../format/units.js";

/** `shoal service hook …`: inbound triggers (POST the URL to redeploy the service) over /v1/services/{id}/hooks. */

interface ServiceHook {
  id: string;
  serviceId: string;
  name: string;
  action: string;
  createdAt: string;
  lastTriggeredAt?: string;
}

const hooksPath = (service: string) => `/v1/services/${encodeURIComponent(service)}/hooks`;

export function addServiceHookCommands(service: Command, cli: Cli) {
  const hook = service.command("hook").description("Manage a service's webhook triggers (POST to redeploy it)");
  const ago = (iso: string | undefined) => (iso ? `${humanDuration(cli.now() - Date.parse(iso))} ago` : "");

  hook
    .command("create")
    .description("Create a trigger; prints its id, then its URL (shown only this once: the token is in it)")
    .argument("<service>")
    .option("--name <name>", "What it is for (e.g. the registry that calls it)")
    .action(
      action(async (ref: string, opts: { name?: string }) => {
        const created = await (await cli.client()).call<ServiceHook & { url: string }>("POST", hooksPath(ref), { body: opts.name ? { name: opts.name } : {} });
        cli.out(`${created.id}\n${created.url}\n`);
      }),
    );

  hook
    .command("ls")
    .alias("list")
    .description("List a service's triggers (never their URLs)")
    .argument("<service>")
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display IDs")
    .action(
      action(async (ref: string, opts: { format?: string; quiet?: boolean }) => {
        const hooks = await (await cli.client()).get<ServiceHook[]>(hooksPath(ref));
        const columns: Column<ServiceHook>[] = [
          { field: "ID", header: "ID", value: (h) => h.id },
          { field: "Name", header: "NAME", value: (h) => h.name },
          { field: "Action", header: "ACTION", value: (h) => h.action },
          { field: "Created", header: "CREATED", value: (h) => ago(h.createdAt) },
          { field: "LastTriggered", header: "LAST TRIGGERED", value: (h) => ago(h.lastTriggeredAt) },
        ];
        cli.out(renderList(hooks, columns, opts));
      }),
    );

  hook
    .command("rm")
    .alias("remove")
    .description("Delete triggers: their URLs stop working at once")
    .argument("<service>")
    .argument("<hook...>")
    .action(
      action(async (ref: string, ids: string[]) => {
        const client = await cli.client();
        await removeEach(cli, ids, (id) => client.call("DELETE", `${hooksPath(ref)}/${encodeURIComponent(id)}`));
      }),
    );
}
