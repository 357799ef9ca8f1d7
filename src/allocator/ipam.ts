import { broadcastOf, contains, overlaps, parseCidr, type Cidr } from "../domain/ipv4.js";
import { defaultAddressPool, firstVni, maxVni } from "../domain/network.js";

/**
 * Central address management, pure: which subnet, VNI and addresses a
 * network's next allocations get. The caller writes them with inserts that a
 * unique index guards (src/db/networks.ts), so two allocators that planned
 * the same address cannot both commit.
 */

/** A released address is not handed out again for this long: stale conntrack, DNS and ARP entries must not reach a new owner. */
export const quarantineMs = 10 * 60_000;

export interface HeldAddress {
  addr: number;
  /** null while held. */
  releasedAt: number | null;
}

/** Held, or released less than the quarantine ago. */
export const isTaken = (a: HeldAddress, now: number) => a.releasedAt === null || a.releasedAt > now - quarantineMs;

/** The addresses of a subnet never handed out: the network and broadcast addresses and the gateway. */
export const reservedAddresses = (subnet: Cidr, gateway: number) => new Set([subnet.base, broadcastOf(subnet), gateway]);

export interface AddressSpace {
  subnet: Cidr;
  gateway: number;
  /** The last address handed out (0: none yet). */
  cursor: number;
}

/**
 * The next `count` free addresses, serially after the cursor and wrapping
 * around, skipping reserved and taken ones; fewer when the subnet runs out.
 */
export function pickAddresses(space: AddressSpace, taken: ReadonlySet<number>, count: number): number[] {
  const reserved = reservedAddresses(space.subnet, space.gateway);
  const first = space.subnet.base + 1;
  const last = broadcastOf(space.subnet) - 1;
  const span = last - first + 1;
  const start = contains(space.subnet, space.cursor) ? space.cursor + 1 : first;
  const out: number[] = [];
  for (let i = 0; i < span && out.length < count; i++) {
    const addr = first + ((start - first + i) % span);
    if (!reserved.has(addr) && !taken.has(addr)) out.push(addr);
  }
  return out;
}

/** The first /24 (the pool's block size) of the default pool that overlaps no existing subnet; undefined when the pool is full. */
export function planSubnet(existing: readonly Cidr[]): Cidr | undefined {
  const pool = parseCidr(defaultAddressPool.base) as Cidr;
  const size = 2 ** (32 - defaultAddressPool.size);
  for (let base = pool.base; base <= broadcastOf(pool); base += size) {
    const candidate = { base, prefix: defaultAddressPool.size };
    if (!existing.some((e) => overlaps(e, candidate))) return candidate;
  }
  return undefined;
}

/** The smallest free VNI from 4096; undefined when all are taken. */
export function planVni(existing: Iterable<number>): number | undefined {
  const used = new Set(existing);
  for (let vni = firstVni; vni <= maxVni; vni++) if (!used.has(vni)) return vni;
  return undefined;
}
