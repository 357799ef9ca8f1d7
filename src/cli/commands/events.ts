import type { ApiClient } from "../client.js";
import { action, collect, type Cli, type CommandGroup } from "../cli.js";
import { eventPrinter, type ApiEvent } from "../event-views.js";
import { filterQuery, parseFilters } from "../filters.js";
import { SseParser } from "../sse.js";

/** `shoal events`: docker events over GET /v1/events (with --until) and the live /v1/events/stream. */

interface EventsFlags {
  since?: string;
  until?: string;
  filter?: string[];
  format?: string;
}

type Query = Record<string, string | string[] | undefined>;

/** Past events up to --until, page after page (each answer's cursor is where the next starts). */
async function printPastEvents(cli: Cli, client: ApiClient, query: Query, print: (e: ApiEvent) => string) {
  let after = 0;
  for (;;) {
    const page = await client.get<{ events: ApiEvent[]; cursor: number }>("/v1/events", { ...query, ...(after ? { after: String(after) } : {}) });
    for (const e of page.events) cli.out(print(e));
    if (page.cursor <= after) return;
    after = page.cursor;
  }
}

/**
 * Follows the live stream until interrupted (Ctrl-C, SIGTERM; then exits 0). The server
 * ends every stream after a while with an `end` event carrying the cursor: it
 * reconnects from there with Last-Event-ID, so no event is lost or repeated.
 */
async function followEvents(cli: Cli, client: ApiClient, query: Query, print: (e: ApiEvent) => string) {
  const stop = new AbortController();
  const release = cli.onInterrupt(() => stop.abort());
  let lastId: string | undefined;
  try {
    while (!stop.signal.aborted) {
      const res = await client.openStream("/v1/events/stream", { query, headers: lastId ? { "last-event-id": lastId } : {}, signal: stop.signal });
      const parser = new SseParser();
      let ended = false;
      res.setEncoding("utf8");
      for await (const chunk of res as AsyncIterable<string>)
        for (const m of parser.push(chunk)) {
          lastId = m.id ?? lastId;
          if (m.event === "end") ended = true;
          else cli.out(print(JSON.parse(m.data) as ApiEvent));
        }
      if (!ended && !stop.signal.aborted) throw new Error("the event stream closed before its end: the control plane went away");
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    release();
  }
}

export const registerEventsCommands: CommandGroup = (program, cli) => {
  program
    .command("events")
    .description("Get real time events from the control plane")
    .option("--since <time>", "Show all events created since timestamp (RFC 3339, Unix seconds, or a duration such as 10m)")
    .option("--until <time>", "Stream events until this timestamp (then exit)")
    .option("-f, --filter <filter>", "Filter output based on conditions provided (type, event, service, node)", collect)
    .option("--format <format>", "Format output using a custom template: 'json' or 'TEMPLATE'")
    .action(
      action(async (opts: EventsFlags) => {
        const print = eventPrinter(opts.format);
        const query: Query = { ...filterQuery(parseFilters(opts.filter ?? [], ["type", "event", "service", "node"])), since: opts.since, until: opts.until };
        const client = await cli.client();
        await (opts.until === undefined ? followEvents : printPastEvents)(cli, client, query, print);
      }),
    );
};
