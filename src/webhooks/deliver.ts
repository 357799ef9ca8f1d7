import type { AppDeps } from "../http/context.js";
import { isCasFailure, won } from "../db/cas.js";
import { listEvents } from "../db/events.js";
import {
  claimDelivery,
  insertDeliveries,
  listDueDeliveries,
  listWebhooks,
  nextDeliveryDueAt,
  recordDeliveryAttempt,
  type DeliveryRow,
  type WebhookRow,
} from "../db/webhooks.js";
import { newId } from "../ids.js";
import { planFanOut } from "./plan-deliveries.js";
import type { AttemptResult } from "../domain/webhook-delivery.js";
import { planDeliveryOutcome, type WebhookSettings } from "./retry-schedule.js";
import { openSecret } from "../auth/secret-box.js";
import { signWebhook } from "./signature.js";

/** One signed POST. Implementations never throw: a refused, unreachable or slow target is an error result. */
export interface WebhookSender {
  send(request: { url: string; headers: Record<string, string>; body: string; allowPrivate: boolean; timeoutMs: number }): Promise<AttemptResult>;
}

export type DelivererDeps = Pick<AppDeps, "db" | "keys" | "clock" | "logger"> & { sender: WebhookSender; settings: WebhookSettings };

const eventsPerFanOut = 500;
const fanOutsPerPass = 10;
const deliveriesPerPass = 50;
/** How long a claim outlives the attempt's timeout before another deliverer may try. */
const claimMarginMs = 5_000;

/** Turns the events after the subscriptions' cursors into pending deliveries; true when more events wait. */
async function fanOut(deps: DelivererDeps, hooks: WebhookRow[], now: number): Promise<boolean> {
  const batch = await listEvents(deps.db, { afterId: Math.min(...hooks.map((h) => h.cursor)) }, eventsPerFanOut);
  const last = batch.at(-1);
  if (!last) return false;
  const behind = hooks.filter((h) => h.cursor < last.id).map((h) => h.id);
  await insertDeliveries(deps.db, planFanOut(hooks, batch, now, () => newId("msg")), behind, last.id);
  return batch.length === eventsPerFanOut;
}

/** One attempt; false when it disabled the subscription (410), so its other deliveries wait. */
async function attempt(deps: DelivererDeps, delivery: DeliveryRow, webhook: WebhookRow): Promise<boolean> {
  const { db, settings } = deps;
  const now = deps.clock.now();
  let claimed: DeliveryRow;
  try {
    claimed = await claimDelivery(db, delivery, now, now + settings.timeoutMs + claimMarginMs);
  } catch (err) {
    if (isCasFailure(err)) return true; // another deliverer claimed it first
    throw err;
  }
  const secret = await openSecret(deps.keys, webhook.id, webhook.secretSealed);
  const signed = await signWebhook(secret, claimed.id, Math.floor(now / 1000), claimed.payload);
  const result = await deps.sender.send({
    url: webhook.url,
    headers: { ...signed, "content-type": "application/json", "user-agent": "shoal-webhooks" },
    body: claimed.payload,
    allowPrivate: webhook.allowPrivate,
    timeoutMs: settings.timeoutMs,
  });
  const done = deps.clock.now();
  const outcome = planDeliveryOutcome(claimed.attempts, result, done, settings.retryDelaysMs);
  // Lost when the claim lapsed and another deliverer took the delivery over: its record stands.
  await won(recordDeliveryAttempt(db, claimed, outcome, result, done));
  if (outcome.state === "failed")
    deps.logger.warn("webhook delivery failed", { webhook: webhook.id, delivery: claimed.id, attempts: claimed.attempts, status: result.status, error: result.error });
  return !(outcome.state === "failed" && outcome.disableWebhook);
}

/**
 * One bounded delivery pass, for the Node timer, the Workers cron and
 * waitUntil after writes: fan out new events, attempt what is due. Returns
 * when the next delivery is due (null: none pending).
 */
export async function runDeliveryPass(deps: DelivererDeps): Promise<number | null> {
  const now = deps.clock.now();
  // Passes follow every write: with no subscription (the common case) one read is all they cost.
  let hooks = await listWebhooks(deps.db);
  if (hooks.length === 0) return null;
  for (let i = 0; i < fanOutsPerPass && (await fanOut(deps, hooks, now)); i++) hooks = await listWebhooks(deps.db);
  // Each subscription's deliveries go one at a time in event order (so a 410 stops the rest); subscriptions in parallel.
  const bySubscription = new Map<string, { delivery: DeliveryRow; webhook: WebhookRow }[]>();
  for (const due of await listDueDeliveries(deps.db, now, deliveriesPerPass))
    bySubscription.set(due.webhook.id, [...(bySubscription.get(due.webhook.id) ?? []), due]);
  await Promise.all(
    [...bySubscription.values()].map(async (queue) => {
      for (const { delivery, webhook } of queue.sort((a, b) => a.delivery.eventId - b.delivery.eventId))
        if (!(await attempt(deps, delivery, webhook))) break;
    }),
  );
  return nextDeliveryDueAt(deps.db);
}
