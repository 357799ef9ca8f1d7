import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { clusterDefaults } from "../../src/bootstrap.js";
import type { ClusterRow } from "../../src/db/cluster.js";
import { downAfterMs, effectiveHeartbeatPeriodMs } from "../../src/domain/liveness.js";
import { LocalLiveness } from "../../src/runtime/local-liveness.js";

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

// A 2 s period and 3 missed heartbeats: a 6 s allowance, whose slack is 4 s.
const threeNodes = cluster({ nodeCount: 3 });

describe("LocalLiveness", () => {
  it.each([
    // [gap between ticks, hold after it]
    [250, 0],
    [4_250, 0],
    [4_251, 4_251 + 6_000],
    [30_000, 30_000 + 6_000],
  ])("a tick %i ms after the last holds every node until %d", (gap, hold) => {
    const local = new LocalLiveness(250, 0);
    local.tick(threeNodes, gap);
    expect(local.holdUntil(threeNodes, gap, "node_a")).toBe(hold);
  });

  it("notices a stall when asked before its overdue tick ran, and reports it once", () => {
    const stalls: number[][] = [];
    const local = new LocalLiveness(250, 0, (ms, until) => stalls.push([ms, until]));
    expect(local.holdUntil(threeNodes, 10_000, "node_a")).toBe(16_000);
    local.tick(threeNodes, 10_001);
    local.tick(threeNodes, 10_251);
    expect(local.holdUntil(threeNodes, 12_000, "node_a")).toBe(16_000);
    expect(stalls).toEqual([[9_750, 16_000]]);
  });

  it("holds a node for one allowance from its last call, and only that node", () => {
    const local = new LocalLiveness(250, 0);
    local.nodeCalledIn("node_a", 1_000);
    local.nodeCalledIn("node_a", 3_000);
    local.tick(threeNodes, 3_000);
    expect(local.holdUntil(threeNodes, 3_000, "node_a")).toBe(9_000);
    expect(local.holdUntil(threeNodes, 3_000, "node_b")).toBe(0);
  });
});
