import type { AttemptResult, DeliveryOutcome } from "../domain/webhook-delivery.js";

/**
 * When a webhook delivery is tried again, and when it is given up: pure, so
 * the schedule is tested without clocks or sockets.
 */

/** Standard Webhooks' example schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const defaultRetryDelaysMs = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/**
 * The outcome of attempt number `attempts` (1-based): 2xx succeeds; 410 Gone
 * fails and disables the subscription; anything else is retried after the
 * schedule's delay for that attempt (±10 % jitter, at least Retry-After, at
 * most the longest delay) until the schedule runs out.
 */
export function planDeliveryOutcome(
  attempts: number,
  result: AttemptResult,
  now: number,
  delaysMs: readonly number[],
  random: () => number = Math.random,
): DeliveryOutcome {
  if (result.status !== undefined && result.status >= 200 && result.status < 300) return { state: "succeeded" };
  if (result.status === 410) return { state: "failed", disableWebhook: "the endpoint answered 410 Gone" };
  const delay = delaysMs[attempts - 1];
  if (delay === undefined) return { state: "failed" };
  const jittered = Math.round(delay * (0.9 + 0.2 * random()));
  const longest = Math.max(...delaysMs);
  return { state: "pending", nextAttemptAt: now + Math.min(Math.max(jittered, result.retryAfterMs ?? 0), longest) };
}

/** A Retry-After header in seconds or as an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface WebhookSettings {
  /** Delays before each retry; their count + 1 is the number of attempts. */
  retryDelaysMs: readonly number[];
  /** How long an attempt may wait for an answer (Standard Webhooks suggests 15 to 30 s). */
  timeoutMs: number;
}

/**
 * Both runtimes' webhook settings from their environment:
 * `SHOAL_WEBHOOK_RETRY_MS` (comma-separated delays in ms, e.g. `100,200`) and
 * `SHOAL_WEBHOOK_TIMEOUT_MS`. Throws on values that are neither.
 */
export function loadWebhookSettings(env: { SHOAL_WEBHOOK_RETRY_MS?: string; SHOAL_WEBHOOK_TIMEOUT_MS?: string }): WebhookSettings {
  const retry = env.SHOAL_WEBHOOK_RETRY_MS;
  const delays = retry === undefined ? defaultRetryDelaysMs : retry.split(",").map((s) => s.trim());
  if (delays.length > 20 || !delays.every((d) => /^\d{1,10}$/.test(String(d))))
    throw new Error(`SHOAL_WEBHOOK_RETRY_MS: 1 to 20 comma-separated delays in ms, got "${retry}"`);
  const timeout = env.SHOAL_WEBHOOK_TIMEOUT_MS ?? "15000";
  if (!/^\d{1,7}$/.test(timeout) || Number(timeout) < 100) throw new Error(`SHOAL_WEBHOOK_TIMEOUT_MS: ms from 100 to 9999999, got "${timeout}"`);
  return { retryDelaysMs: delays.map(Number), timeoutMs: Number(timeout) };
}
