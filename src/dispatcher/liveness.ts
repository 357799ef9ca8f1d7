import type { ClusterRow } from "../db/cluster.js";

/**
 * The heartbeat period handed to agents. As Nomad does, it grows with the
 * cluster so that all nodes together stay under `maxHeartbeatsPerSecond`.
 */
export function effectiveHeartbeatPeriodMs(
  c: Pick<ClusterRow, "heartbeatPeriodMs" | "maxHeartbeatsPerSecond" | "nodeCount">,
): number {
  return Math.max(c.heartbeatPeriodMs, Math.ceil((c.nodeCount * 1000) / c.maxHeartbeatsPerSecond));
}

/** How long a node may stay silent before it is down. */
export function downAfterMs(c: Pick<ClusterRow, "heartbeatPeriodMs" | "maxHeartbeatsPerSecond" | "nodeCount" | "missedHeartbeats">): number {
  return effectiveHeartbeatPeriodMs(c) * c.missedHeartbeats;
}

/** The lease a heartbeat at `now` buys. */
export function leaseExpiresAt(c: Parameters<typeof downAfterMs>[0], now: number): number {
  return now + downAfterMs(c);
}

export interface LivenessPlan {
  /** Write `controlPlaneSeenAt = now` (at most once a period) with this grace. */
  touch?: { graceUntil: number };
  /** Whether expired leases may mark nodes down now. */
  checkLeases: boolean;
}

/**
 * Decides the control plane's liveness bookkeeping for a request at `now`.
 * After a start or after the control plane was unreachable for longer than a
 * node's lease, agents could not have reached it either: their leases are given
 * twice the normal allowance before anyone is marked down (as Swarm does after
 * a manager restart).
 */
export function planLiveness(c: ClusterRow, now: number): LivenessPlan {
  const period = effectiveHeartbeatPeriodMs(c);
  const gap = now - c.controlPlaneSeenAt;
  let graceUntil = c.livenessGraceUntil;
  let touch: LivenessPlan["touch"];
  if (gap >= period) {
    if (gap > downAfterMs(c)) graceUntil = Math.max(graceUntil, now + 2 * downAfterMs(c));
    touch = { graceUntil };
  }
  return { touch, checkLeases: now >= graceUntil };
}
