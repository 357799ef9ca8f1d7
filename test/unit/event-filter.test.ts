import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventPatternRegex, matchesEventFilter, matchesEventPattern, parseEventTime, type EventRow } from "../../src/events/event-filter.js";

const event = (type: EventRow["type"], action: string, actorId = "x", attributes: Record<string, string> = {}): EventRow => ({
  id: 1,
  time: 0,
  type,
  action,
  actorId,
  attributes,
});

describe("event patterns", () => {
  it.each([
    ["task.failed", event("task", "failed"), true],
    ["failed", event("task", "failed"), true],
    ["task.*", event("task", "rejected"), true],
    ["task.*", event("node", "down"), false],
    ["service.update.*", event("service", "update.paused"), true],
    ["service.update.*", event("service", "update"), false],
    ["service.*", event("service", "update.rolled_back"), true],
    ["update.*", event("service", "update.completed"), true],
    ["*", event("stack", "deploy"), true],
    ["node.down", event("node", "downx"), false],
    ["task.fail*", event("task", "failed"), true],
    ["node.join", event("node", "join"), true],
    // Dots are literal, not "any character".
    ["task.failed", event("task", "failedX"), false],
    ["taskxfailed", event("task", "failed"), false],
  ])("%s on %o → %s", (pattern, e, expected) => {
    expect(eventPatternRegex.test(pattern)).toBe(true);
    expect(matchesEventPattern(pattern, e)).toBe(expected);
  });

  it("a pattern without * matches exactly its name or its action", () => {
    const segment = fc.stringMatching(/^[a-z_]{1,8}$/);
    fc.assert(
      fc.property(fc.constantFrom("node", "service", "task", "stack" as const), segment, segment, (type, action, other) => {
        const e = event(type, action);
        expect(matchesEventPattern(`${type}.${action}`, e)).toBe(true);
        expect(matchesEventPattern(action, e)).toBe(true);
        expect(matchesEventPattern(`${type}.*`, e)).toBe(true);
        if (other !== action) expect(matchesEventPattern(`${type}.${other}`, e)).toBe(false);
      }),
    );
  });
});

describe("event patterns: cost", () => {
  it("matches as the glob's regular expression would, for any pattern of a, . and *", () => {
    const reference = (pattern: string, text: string) =>
      new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.]/g, "\\.")).join(".*")}$`).test(text);
    fc.assert(
      fc.property(fc.stringMatching(/^[a.*]{1,8}$/), fc.stringMatching(/^[a.]{0,10}$/), (pattern, action) => {
        const e = event("task", action);
        expect(matchesEventPattern(pattern, e)).toBe(reference(pattern, `task.${action}`) || reference(pattern, action));
      }),
      { numRuns: 2000, seed: 19 },
    );
  });

  it("answers at once for the worst patterns the API accepts (100 characters of *)", () => {
    const started = performance.now();
    for (const pattern of [`${"*".repeat(99)}x`, `${"*a".repeat(50)}`, `${"*.".repeat(49)}*x`])
      expect(matchesEventPattern(pattern, event("service", "update.rollback_completed"))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe("event filters", () => {
  const taskFailed = event("task", "failed", "task_1", { service: "svc_1", node: "node_1" });
  const serviceUpdated = event("service", "update", "svc_1", { name: "web" });
  const nodeDown = event("node", "down", "node_1", { hostname: "host-1" });
  const stack = event("stack", "deploy", "app", { name: "app" });

  it.each([
    [{}, [true, true, true, true]],
    [{ types: ["task"] }, [true, false, false, false]],
    [{ types: ["task", "node"] }, [true, false, true, false]],
    [{ events: ["failed", "node.*"] }, [true, false, true, false]],
    [{ services: new Set(["svc_1"]) }, [true, true, false, false]],
    [{ services: new Set(["web"]) }, [false, true, false, false]],
    [{ nodes: new Set(["host-1"]) }, [false, false, true, false]],
    [{ nodes: new Set(["node_1"]) }, [true, false, true, false]],
    // Different filters must all hold.
    [{ types: ["task"], nodes: new Set(["node_1"]), events: ["task.failed"] }, [true, false, false, false]],
    [{ types: ["service"], nodes: new Set(["node_1"]) }, [false, false, false, false]],
  ])("%o", (filter, expected) => {
    expect([taskFailed, serviceUpdated, nodeDown, stack].map((e) => matchesEventFilter(e, filter))).toEqual(expected);
  });
});

describe("since and until", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  it.each([
    ["1767225600", Date.parse("2026-01-01T00:00:00Z")],
    ["1767225600.5", Date.parse("2026-01-01T00:00:00Z") + 500],
    ["10m", now - 600_000],
    ["1h30m", now - 5_400_000],
    ["1.5s", now - 1500],
    ["250ms", now - 250],
    ["2026-01-01T11:00:00Z", now - 3_600_000],
    ["2026-01-01T13:00:00+02:00", now - 3_600_000],
    ["2026-01-01T11:00:00.250Z", now - 3_599_750],
  ])("%s", (value, expected) => {
    expect(parseEventTime(value, now)).toBe(expected);
  });

  it.each(["", "yesterday", "-5", "10x", "m10", "2026-01-01", "2026-13-45T99:00:00Z", "1e3", "10 m"])("refuses %j", (value) => {
    expect(parseEventTime(value, now)).toBeUndefined();
  });
});
