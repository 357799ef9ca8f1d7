import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { clusterDefaults } from "../../src/bootstrap.js";
import type { ClusterRow } from "../../src/db/cluster.js";
import { downAfterMs, effectiveHeartbeatPeriodMs } from "../../src/domain/liveness.js";

const cluster = (over: Partial<ClusterRow> = {}): ClusterRow => ({
  id: "clu_x",
  version: 1,
  createdAt: 0,
  updatedAt: 0,
  ...clusterDefaults,
  workerJoinGeneration: 1,
  managerJoinGeneration: 1,
  nodeCount: 0,
  networkGeneration: 0,
  generation: 1,
  livenessGraceUntil: 0,
  ...over,
});

describe("effectiveHeartbeatPeriodMs", () => {
  it.each([
    [0, 2000],
    [100, 2000],
    [200, 2000],
    [500, 5000],
    [5000, 50_000],
    [100_000, 1_000_000],
  ])("with %i nodes at 100/s the period is %i ms", (nodeCount, expected) => {
    expect(effectiveHeartbeatPeriodMs(cluster({ nodeCount }))).toBe(expected);
  });

  it("keeps the heartbeat rate under the limit for any cluster size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 100_000 }), (nodeCount, rate) => {
        const c = cluster({ nodeCount, maxHeartbeatsPerSecond: rate });
        const period = effectiveHeartbeatPeriodMs(c);
        expect(period).toBeGreaterThanOrEqual(c.heartbeatPeriodMs);
        expect((nodeCount * 1000) / period).toBeLessThanOrEqual(rate);
      }),
    );
  });

  it("down after = period × missed heartbeats", () => {
    expect(downAfterMs(cluster())).toBe(6000);
    expect(downAfterMs(cluster({ missedHeartbeats: 5, nodeCount: 400 }))).toBe(20_000);
  });
});

