/** The cluster settings and size the heartbeat period follows (a cluster row has them). */
interface LivenessSettings {
  heartbeatPeriodMs: number;
  maxHeartbeatsPerSecond: number;
  nodeCount: number;
  missedHeartbeats: number;
}

/**
 * The heartbeat period handed to agents. As Nomad does, it grows with the
 * cluster so that all nodes together stay under `maxHeartbeatsPerSecond`.
 */
export function effectiveHeartbeatPeriodMs(c: Omit<LivenessSettings, "missedHeartbeats">): number {
  return Math.max(c.heartbeatPeriodMs, Math.ceil((c.nodeCount * 1000) / c.maxHeartbeatsPerSecond));
}

/** How long a node may stay silent before it is down. */
export function downAfterMs(c: LivenessSettings): number {
  return effectiveHeartbeatPeriodMs(c) * c.missedHeartbeats;
}

/** The lease a heartbeat at `now` buys. */
export function leaseExpiresAt(c: Parameters<typeof downAfterMs>[0], now: number): number {
  return now + downAfterMs(c);
}

