import { Option } from "commander";
import { action, addInspectCommand, collect, removeEach, type Cli, type CommandGroup } from "../cli.js";
import { retryOnStaleVersion } from "../client.js";
import { filterQuery, parseFilters } from "../filters.js";
import { prettyLines, renderList, type Column } from "../format/output.js";
import { humanDuration, UsageError } from "../format/units.js";

/** `shoal webhook …`: outbound subscriptions over /v1/webhooks and their delivery logs. */

interface Webhook {
  id: string;
  version: number;
  name: string;
  url: string;
  events: string[];
  allowPrivate: boolean;
  state: "active" | "disabled";
  disabledReason: string;
  createdAt: string;
  updatedAt: string;
}

interface Delivery {
  id: string;
  eventId: number;
  event: string;
  state: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string;
  createdAt: string;
}

const webhookPath = (id: string) => `/v1/webhooks/${encodeURIComponent(id)}`;
const eventsText = (w: Webhook) => (w.events.length ? w.events.join(",") : "*");
const ago = (cli: Cli, iso: string | null) => (iso ? `${humanDuration(cli.now() - Date.parse(iso))} ago` : "");

const webhookColumns: Column<Webhook>[] = [
  { field: "ID", header: "ID", value: (w) => w.id },
  { field: "Name", header: "NAME", value: (w) => w.name },
  { field: "URL", header: "URL", value: (w) => w.url },
  { field: "Events", header: "EVENTS", value: eventsText },
  { field: "Enabled", header: "ENABLED", value: (w) => String(w.state === "active") },
  { field: "DisabledReason", header: "DISABLED REASON", value: (w) => w.disabledReason, hidden: true },
];

function prettyWebhook(w: Webhook): string {
  return `${prettyLines([
    ["ID", w.id],
    ["Name", w.name],
    ["URL", w.url],
    ["Events", eventsText(w)],
    ["Allow private", w.allowPrivate],
    ["Enabled", w.state === "active"],
    ...(w.disabledReason ? [["Disabled reason", w.disabledReason] as const] : []),
    ["Created at", w.createdAt],
    ["Updated at", w.updatedAt],
  ])}\n`;
}

interface UpdateFlags {
  url?: string;
  name?: string;
  event?: string[];
  allowPrivate?: boolean;
  enable?: boolean;
  disable?: boolean;
}

/** The PATCH body: only what a flag names. */
function webhookChange(flags: UpdateFlags): Record<string, unknown> {
  if (flags.enable && flags.disable) throw new UsageError("--enable and --disable cannot be combined");
  const change: Record<string, unknown> = {
    ...(flags.url !== undefined ? { url: flags.url } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.event !== undefined ? { events: flags.event } : {}),
    ...(flags.allowPrivate !== undefined ? { allowPrivate: flags.allowPrivate } : {}),
    ...(flags.enable ? { enabled: true } : {}),
    ...(flags.disable ? { enabled: false } : {}),
  };
  if (Object.keys(change).length === 0) throw new UsageError("nothing to update: give --url, --name, --event, --allow-private, --enable or --disable");
  return change;
}

export const registerWebhookCommands: CommandGroup = (program, cli) => {
  const webhook = program.command("webhook").description("Manage outbound webhooks: events POSTed, signed, to a URL");

  webhook
    .command("create")
    .description("Subscribe a URL to events; prints the id, then the signing secret (shown only this once)")
    .requiredOption("--url <url>", "Where to POST the events (https; public addresses unless --allow-private)")
    .option("--event <pattern>", "Event name or pattern to send (task.failed, service.*, failed); all events when none", collect)
    .option("--allow-private", "Allow loopback and private addresses")
    .option("--name <name>", "Webhook name (default: the URL's host)")
    .addOption(new Option("--format <format>", "Print the whole answer, secret included").choices(["json"]))
    .action(
      action(async (opts: { url: string; event?: string[]; allowPrivate?: boolean; name?: string; format?: string }) => {
        const body = { url: opts.url, ...(opts.event ? { events: opts.event } : {}), ...(opts.allowPrivate ? { allowPrivate: true } : {}), ...(opts.name ? { name: opts.name } : {}) };
        const created = await (await cli.client()).call<Webhook & { secret: string }>("POST", "/v1/webhooks", { body });
        cli.out(opts.format === "json" ? `${JSON.stringify(created)}\n` : `${created.id}\n${created.secret}\n`);
      }),
    );

  webhook
    .command("ls")
    .alias("list")
    .description("List webhooks")
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display IDs")
    .action(
      action(async (opts: { format?: string; quiet?: boolean }) => {
        const hooks = await (await cli.client()).get<Webhook[]>("/v1/webhooks");
        cli.out(renderList(hooks, webhookColumns, opts));
      }),
    );

  addInspectCommand<Webhook>(webhook, cli, "webhook", webhookPath, prettyWebhook);

  webhook
    .command("update")
    .description("Change a webhook, disable it or enable it again")
    .argument("<webhook>")
    .option("--url <url>", "Where to POST the events")
    .option("--name <name>", "Webhook name")
    .option("--event <pattern>", "Replace the event patterns (repeat for several)", collect)
    .option("--allow-private", "Allow loopback and private addresses")
    .option("--no-allow-private", "Refuse loopback and private addresses again")
    .option("--enable", "Enable it (again), with its pending deliveries")
    .option("--disable", "Disable it: nothing is sent until it is enabled")
    .action(
      action(async (id: string, flags: UpdateFlags) => {
        const change = webhookChange(flags);
        const client = await cli.client();
        await retryOnStaleVersion(async () => {
          const current = await client.get<Webhook>(webhookPath(id));
          return client.call<Webhook>("PATCH", webhookPath(current.id), { query: { version: String(current.version) }, body: change });
        });
        cli.out(`${id}\n`);
      }),
    );

  webhook
    .command("rm")
    .alias("remove")
    .description("Remove one or more webhooks and their delivery logs")
    .argument("<webhook...>")
    .action(
      action(async (ids: string[]) => {
        const client = await cli.client();
        await removeEach(cli, ids, (id) => client.call("DELETE", webhookPath(id)));
      }),
    );

  webhook
    .command("deliveries")
    .description("List a webhook's deliveries, newest event first")
    .argument("<webhook>")
    .option("-f, --filter <filter>", "Filter output based on conditions provided (state=pending|succeeded|failed)", collect)
    .option("-n, --limit <count>", "How many at most", "100")
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display IDs")
    .action(
      action(async (id: string, opts: { filter?: string[]; limit: string; format?: string; quiet?: boolean }) => {
        const query = { ...filterQuery(parseFilters(opts.filter ?? [], ["state"])), limit: opts.limit };
        const deliveries = await (await cli.client()).get<Delivery[]>(`${webhookPath(id)}/deliveries`, query);
        const columns: Column<Delivery>[] = [
          { field: "ID", header: "ID", value: (d) => d.id },
          { field: "Event", header: "EVENT", value: (d) => d.event },
          { field: "State", header: "STATE", value: (d) => d.state },
          { field: "Attempts", header: "ATTEMPTS", value: (d) => String(d.attempts) },
          { field: "Status", header: "STATUS", value: (d) => (d.lastStatus === null ? "" : String(d.lastStatus)) },
          { field: "LastAttempt", header: "LAST ATTEMPT", value: (d) => ago(cli, d.lastAttemptAt) },
          { field: "Error", header: "ERROR", value: (d) => d.lastError },
          { field: "EventID", header: "EVENT ID", value: (d) => String(d.eventId), hidden: true },
          { field: "NextAttempt", header: "NEXT ATTEMPT", value: (d) => d.nextAttemptAt ?? "", hidden: true },
        ];
        cli.out(renderList(deliveries, columns, opts));
      }),
    );
};
