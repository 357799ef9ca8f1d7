import type { DeliveryRow, WebhookRow } from "../db/webhooks.js";
import { matchesEventPattern, toEventView, type EventRow } from "../events/event-filter.js";

/** The Standard Webhooks body: `type`, `timestamp` (of the event) and the event as `GET /v1/events` shows it. */
function webhookPayload(e: EventRow): string {
  const view = toEventView(e);
  return JSON.stringify({ type: view.name, timestamp: view.time, data: view });
}

/** Whether a subscription wants an event: no patterns means every event. */
const wantsEvent = (hook: Pick<WebhookRow, "events">, e: EventRow) =>
  hook.events.length === 0 || hook.events.some((p) => matchesEventPattern(p, e));

/**
 * The deliveries a batch of events (in id order) makes: one per active
 * subscription and event after that subscription's cursor that it wants.
 * Disabled subscriptions skip what happens while they are disabled.
 */
export function planFanOut(hooks: WebhookRow[], batch: EventRow[], now: number, newDeliveryId: () => string): DeliveryRow[] {
  const out: DeliveryRow[] = [];
  for (const hook of hooks) {
    if (hook.state !== "active") continue;
    for (const e of batch) {
      if (e.id <= hook.cursor || !wantsEvent(hook, e)) continue;
      out.push({
        id: newDeliveryId(),
        webhookId: hook.id,
        eventId: e.id,
        eventName: `${e.type}.${e.action}`,
        payload: webhookPayload(e),
        createdAt: now,
        state: "pending",
        attempts: 0,
        nextAttemptAt: now,
        lastAttemptAt: null,
        lastStatus: null,
        lastError: "",
      });
    }
  }
  return out;
}
