import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WebhookRow } from "../../src/db/webhooks.js";
import type { EventRow } from "../../src/events/event-filter.js";
import { planFanOut } from "../../src/webhooks/plan-deliveries.js";
import { defaultRetryDelaysMs, loadWebhookSettings, parseRetryAfter, planDeliveryOutcome } from "../../src/webhooks/retry-schedule.js";

const now = 1_000_000;
const mid = () => 0.5;

describe("delivery outcomes", () => {
  it.each([
    [1, { status: 200 }, { state: "succeeded" }],
    [3, { status: 204 }, { state: "succeeded" }],
    [1, { status: 410 }, { state: "failed", disableWebhook: "the endpoint answered 410 Gone" }],
    [1, { status: 500 }, { state: "pending", nextAttemptAt: now + 5_000 }],
    [2, { status: 302 }, { state: "pending", nextAttemptAt: now + 300_000 }],
    [1, { error: "connect ECONNREFUSED" }, { state: "pending", nextAttemptAt: now + 5_000 }],
    [1, { status: 429, retryAfterMs: 60_000 }, { state: "pending", nextAttemptAt: now + 60_000 }],
    // Retry-After never stretches a wait past the schedule's longest delay.
    [1, { status: 503, retryAfterMs: 10 ** 12 }, { state: "pending", nextAttemptAt: now + 36_000_000 }],
    [7, { status: 500 }, { state: "pending", nextAttemptAt: now + 36_000_000 }],
    [8, { status: 500 }, { state: "failed" }],
  ])("attempt %i, %o", (attempts, result, outcome) => {
    expect(planDeliveryOutcome(attempts, result, now, defaultRetryDelaysMs, mid)).toEqual(outcome);
  });

  it("waits longer after each failure, within 10 % jitter, and gives up after the last delay", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 ** 8 }), { minLength: 1, maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (delays, r) => {
        delays.forEach((delay, i) => {
          const outcome = planDeliveryOutcome(i + 1, { status: 500 }, now, delays, () => r);
          expect(outcome.state).toBe("pending");
          const wait = (outcome as { nextAttemptAt: number }).nextAttemptAt - now;
          expect(wait).toBeGreaterThanOrEqual(Math.floor(delay * 0.9));
          expect(wait).toBeLessThanOrEqual(Math.max(...delays));
        });
        expect(planDeliveryOutcome(delays.length + 1, { status: 500 }, now, delays, () => r)).toEqual({ state: "failed" });
      }),
    );
  });

  it("reads Retry-After in seconds or as a date", () => {
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("settings: Standard Webhooks' schedule by default, or the environment's", () => {
    expect(loadWebhookSettings({})).toEqual({ retryDelaysMs: defaultRetryDelaysMs, timeoutMs: 15_000 });
    expect(loadWebhookSettings({ SHOAL_WEBHOOK_RETRY_MS: "100, 200", SHOAL_WEBHOOK_TIMEOUT_MS: "2000" })).toEqual({ retryDelaysMs: [100, 200], timeoutMs: 2000 });
    expect(() => loadWebhookSettings({ SHOAL_WEBHOOK_RETRY_MS: "1s" })).toThrow(/SHOAL_WEBHOOK_RETRY_MS/);
    expect(() => loadWebhookSettings({ SHOAL_WEBHOOK_TIMEOUT_MS: "5" })).toThrow(/SHOAL_WEBHOOK_TIMEOUT_MS/);
  });
});

describe("fan-out", () => {
  const hook = (id: string, cursor: number, events: string[], state: WebhookRow["state"] = "active"): WebhookRow => ({
    id,
    version: 1,
    createdAt: 0,
    updatedAt: 0,
    name: id,
    url: "https://example.com",
    events,
    allowPrivate: false,
    secretSealed: "",
    state,
    disabledReason: "",
    cursor,
  });
  const ev = (id: number, type: EventRow["type"], action: string): EventRow => ({ id, time: id * 1000, type, action, actorId: `a${id}`, attributes: { k: "v" } });
  const batch = [ev(1, "node", "join"), ev(2, "task", "failed"), ev(3, "service", "update.paused"), ev(4, "task", "running")];

  it("queues each wanted event after each active subscription's cursor, once", () => {
    let n = 0;
    const out = planFanOut(
      [hook("all", 0, []), hook("fails", 0, ["task.failed", "service.update.*"]), hook("late", 3, []), hook("off", 0, [], "disabled")],
      batch,
      now,
      () => `msg_${++n}`,
    );
    expect(out.map((d) => `${d.webhookId}:${d.eventName}`)).toEqual([
      "all:node.join",
      "all:task.failed",
      "all:service.update.paused",
      "all:task.running",
      "fails:task.failed",
      "fails:service.update.paused",
      "late:task.running",
    ]);
    expect(new Set(out.map((d) => d.id)).size).toBe(out.length);
    expect(out.every((d) => d.state === "pending" && d.nextAttemptAt === now && d.attempts === 0)).toBe(true);
    expect(JSON.parse(out[1]!.payload)).toEqual({
      type: "task.failed",
      timestamp: new Date(2000).toISOString(),
      data: { id: 2, name: "task.failed", type: "task", action: "failed", actor: { id: "a2", attributes: { k: "v" } }, time: new Date(2000).toISOString() },
    });
  });
});
