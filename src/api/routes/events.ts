import { createRoute, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { listEvents, maxEventId, type EventRange } from "../../db/events.js";
import { listNodes } from "../../db/nodes.js";
import { eventTypes } from "../../db/schema/index.js";
import { listServices } from "../../db/services.js";
import { eventPatternRegex, matchesEventFilter, parseEventTime, toEventView, type EventFilter } from "../../events/event-filter.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import { followEvents } from "../event-feed.js";
import type { AppDeps } from "../../http/context.js";
import { bearer, errorResponses, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { queryInt, repeated, repeatedOf } from "../schemas.js";

const EventSchema = z
  .object({
    id: z.number().int().openapi({ description: "Increases with every event: the cursor (`after`, SSE `Last-Event-ID`)" }),
    name: z.string().openapi({ example: "task.failed", description: "`type.action`: what `event` filters and webhook subscriptions match" }),
    type: z.enum(eventTypes),
    action: z.string().openapi({ example: "failed" }),
    actor: z.object({ id: z.string(), attributes: z.record(z.string(), z.string()) }),
    time: z.iso.datetime(),
  })
  .openapi("Event");

const timeRule = "an RFC 3339 time, Unix seconds, or a duration before now such as 10m or 1h30m";
export const timeArg = (description: string) =>
  z
    .string()
    .max(64)
    .refine((v) => parseEventTime(v, 0) !== undefined, { error: timeRule })
    .optional()
    .openapi({ description: `${description}: ${timeRule}` });

export const EventPattern = z
  .string()
  .max(100)
  .regex(eventPatternRegex, "an event name such as task.failed, or a pattern such as service.* or service.update.*");

const filterShape = {
  since: timeArg("Events at or after this time"),
  until: timeArg("Events at or before this time; a stream ends there"),
  type: repeatedOf(z.enum(eventTypes), `Event type: ${eventTypes.join(", ")}`),
  event: repeatedOf(EventPattern, "Event name or action, `*` for any characters: task.failed, failed, service.update.*"),
  service: repeated("Service id or name: its service events and its tasks' events"),
  node: repeated("Node id or hostname: its node events and its tasks' events"),
  after: queryInt(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "Only events after this id (a cursor from an earlier answer)" }),
};

const EventListQuery = strictObject({
  ...filterShape,
  limit: queryInt(1, 10_000).default(1000),
});
const EventStreamQuery = strictObject(filterShape);

const EventListSchema = z
  .object({
    events: z.array(EventSchema),
    cursor: z.number().int().openapi({ description: "The last event id looked at: pass it as `after` to continue" }),
  })
  .openapi("EventList");

const pageSize = 500;
/** A list request looks at this many events at most; the cursor says where it stopped. */
const maxScannedPerList = 50_000;
/** Every stream ends after this long (on both runtimes, so a Worker's request is bounded): clients reconnect with Last-Event-ID. */
export const maxStreamMs = 5 * 60_000;
const keepAliveMs = 15_000;

type FilterQuery = z.infer<typeof EventStreamQuery>;

export function eventRoutes(deps: AppDeps) {
  const app = newRouter();

  /** The query as a store range and a filter; service and node names also match their current ids. */
  async function compile(q: FilterQuery, now: number): Promise<{ range: EventRange; filter: EventFilter }> {
    const [services, nodes] = await Promise.all([q.service?.length ? listServices(deps.db) : [], q.node?.length ? listNodes(deps.db) : []]);
    const refs = (given: string[] | undefined, known: { id: string; name: string }[]) =>
      given?.length ? new Set([...given, ...known.filter((k) => given.includes(k.name)).map((k) => k.id)]) : undefined;
    return {
      range: {
        afterId: q.after,
        sinceMs: q.since === undefined ? undefined : parseEventTime(q.since, now),
        untilMs: q.until === undefined ? undefined : parseEventTime(q.until, now),
        types: q.type,
      },
      filter: {
        events: q.event,
        services: refs(q.service, services),
        nodes: refs(q.node, nodes.map((n) => ({ id: n.id, name: n.hostname }))),
      },
    };
  }

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/events",
      tags: ["events"],
      summary: "Past events (docker events --since … --until …)",
      description:
        "Events in the order they happened, filtered as docker's: values of one filter are alternatives, different filters must all hold. " +
        "At most `limit` events; continue from `cursor` with `after`.",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: EventListQuery },
      responses: { 200: jsonResponse(EventListSchema, "Events"), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { range, filter } = await compile(q, c.get("now"));
      const out: z.infer<typeof EventSchema>[] = [];
      let cursor = q.after ?? 0;
      for (let scanned = 0; out.length < q.limit && scanned < maxScannedPerList; ) {
        const page = await listEvents(deps.db, { ...range, afterId: cursor }, pageSize);
        for (const e of page) {
          cursor = e.id;
          if (matchesEventFilter(e, filter)) out.push(toEventView(e));
          if (out.length === q.limit) break;
        }
        scanned += page.length;
        if (page.length < pageSize) break;
      }
      return c.json({ events: out, cursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/events/stream",
      tags: ["events"],
      summary: "Live events as server-sent events (docker events)",
      description:
        "Each event is an SSE message with the event id as its `id` and the event (as in `GET /v1/events`) as JSON `data`. " +
        "With `since` or `after` (or a `Last-Event-ID` header) past events come first. " +
        `The stream ends at \`until\`, or after ${maxStreamMs / 60_000} minutes, with an \`end\` event whose id is the cursor: reconnect with it as Last-Event-ID.`,
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { query: EventStreamQuery },
      responses: {
        200: { description: "An event stream", content: { "text/event-stream": { schema: z.string() } } },
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const now = c.get("now");
      const { range, filter } = await compile(q, now);
      const lastEventId = /^\d{1,15}$/.exec(c.req.header("last-event-id") ?? "")?.[0];
      let cursor = lastEventId !== undefined ? Number(lastEventId) : (range.afterId ?? (range.sinceMs === undefined ? await maxEventId(deps.db) : 0));
      const startedAt = Date.now();
      const endAt = Math.min(startedAt + maxStreamMs, range.untilMs === undefined ? Infinity : startedAt + (range.untilMs - now));
      return streamSSE(c, async (stream) => {
        let lastWrite = Date.now();
        cursor = await followEvents(
          deps.db,
          range,
          cursor,
          endAt,
          stream,
          async (e) => {
            if (!matchesEventFilter(e, filter)) return;
            await stream.writeSSE({ id: String(e.id), data: JSON.stringify(toEventView(e)) });
            lastWrite = Date.now();
          },
          async () => {
            if (Date.now() - lastWrite < keepAliveMs) return;
            await stream.write(": keep-alive\n\n");
            lastWrite = Date.now();
          },
        );
        if (!stream.aborted) await stream.writeSSE({ event: "end", id: String(cursor), data: JSON.stringify({ cursor }) });
      });
    },
  );

  return app;
}
