import type { ClusterRow } from "../db/cluster.js";
import { downAfterMs, effectiveHeartbeatPeriodMs } from "../domain/liveness.js";

/**
 * What one Node control plane process knows of liveness that the store may not show yet.
 *
 * - A node whose request arrived is alive, though the lease its heartbeat writes may be
 *   waiting behind other writes in a busy store: as Nomad's leader resets a node's
 *   heartbeat timer when the heartbeat arrives, the node is held for one allowance
 *   (period × missed heartbeats) from its last call.
 * - A process that could not run for a while (its event loop blocked by a long pass, the
 *   machine starved of CPU) could not take the heartbeats that arrived meanwhile: they
 *   waited in its sockets, and the first request it handled would judge leases before
 *   them, marking nodes down for its own fault, many at once. As after a restart (Swarm,
 *   Nomad's failover TTL), a stall longer than a lease's slack (the allowance less one
 *   period: a node polls at least once a period) holds every node for one allowance. A
 *   stall shows as a tick that came late or, before the late tick has run, as a check
 *   made while the tick is that overdue.
 *
 * Workers have no process shared by requests, so none of this applies there.
 */
export class LocalLiveness {
  private readonly calledIn = new Map<string, number>();
  private lastTick: number;
  private stallHeldUntil = 0;

  constructor(
    readonly tickMs: number,
    now: number,
    private readonly onStall: (stalledMs: number, heldUntil: number) => void = () => {},
  ) {
    this.lastTick = now;
  }

  /** Call every `tickMs`. */
  tick(cluster: ClusterRow, now: number): void {
    this.checkStall(cluster, now);
    this.lastTick = now;
  }

  /** A request with this node's valid credential arrived (before any store I/O). */
  nodeCalledIn(nodeId: string, now: number): void {
    this.calledIn.set(nodeId, now);
  }

  /** This process may not mark `nodeId` down before the returned time. */
  holdUntil(cluster: ClusterRow, now: number, nodeId: string): number {
    this.checkStall(cluster, now);
    return Math.max(this.stallHeldUntil, (this.calledIn.get(nodeId) ?? -Infinity) + downAfterMs(cluster));
  }

  private checkStall(cluster: ClusterRow, now: number): void {
    const stalledMs = now - this.lastTick - this.tickMs;
    const allowance = downAfterMs(cluster);
    if (stalledMs <= allowance - effectiveHeartbeatPeriodMs(cluster)) return;
    this.stallHeldUntil = now + allowance;
    this.lastTick = now;
    this.onStall(stalledMs, this.stallHeldUntil);
  }
}
