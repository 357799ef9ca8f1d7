import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTaken, pickAddresses, planSubnet, planVni, quarantineMs, reservedAddresses } from "../../src/allocator/ipam.js";
import { broadcastOf, contains, formatCidr, overlaps, parseCidr, parseIpv4, type Cidr } from "../../src/domain/ipv4.js";

const cidr = (text: string) => parseCidr(text) as Cidr;

describe("IPv4 and CIDR parsing", () => {
  it.each([
    ["10.0.1.0/24", { base: parseIpv4("10.0.1.0"), prefix: 24 }],
    ["10.0.1.1/24", /host bits set; the subnet is 10\.0\.1\.0\/24/],
    ["10.0.1/24", /not an IPv4 subnet/],
    ["10.0.1.0/33", /prefix length must be 0 to 32/],
    ["256.0.0.0/8", /not an IPv4 subnet/],
  ])("%s", (text, expected) => {
    const got = parseCidr(text);
    if (expected instanceof RegExp) expect(got).toMatch(expected);
    else expect(got).toEqual(expected);
  });
});

describe("address picking (property)", () => {
  const space = fc
    .record({ third: fc.integer({ min: 0, max: 255 }), prefix: fc.integer({ min: 24, max: 29 }), gatewayOffset: fc.integer({ min: 1, max: 6 }), cursorOffset: fc.integer({ min: -3, max: 300 }) })
    .map(({ third, prefix, gatewayOffset, cursorOffset }) => {
      const subnet = { base: parseIpv4(`10.7.${third}.0`)! & ~(2 ** (32 - prefix) - 1), prefix };
      return { subnet, gateway: subnet.base + gatewayOffset, cursor: subnet.base + cursorOffset };
    });

  it("hands out no address twice, never a reserved or taken one, only inside the subnet, serially after the cursor", () => {
    fc.assert(
      fc.property(space, fc.array(fc.integer({ min: 0, max: 260 }), { maxLength: 40 }), fc.integer({ min: 1, max: 300 }), (s, takenOffsets, count) => {
        const taken = new Set(takenOffsets.map((o) => s.subnet.base + o));
        const picked = pickAddresses(s, taken, count);
        const reserved = reservedAddresses(s.subnet, s.gateway);
        expect(new Set(picked).size).toBe(picked.length);
        for (const a of picked) {
          expect(contains(s.subnet, a)).toBe(true);
          expect(reserved.has(a) || taken.has(a)).toBe(false);
        }
        const free = [...Array(broadcastOf(s.subnet) - s.subnet.base + 1).keys()].map((o) => s.subnet.base + o).filter((a) => !reserved.has(a) && !taken.has(a));
        expect(picked.length).toBe(Math.min(count, free.length));
        if (picked.length && contains(s.subnet, s.cursor) && free.some((a) => a > s.cursor)) expect(picked[0]).toBe(free.find((a) => a > s.cursor));
      }),
    );
  });

  it("successive allocations that feed what they took back as taken never collide", () => {
    fc.assert(
      fc.property(space, fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }), (s, batches) => {
        const taken = new Set<number>();
        let cursor = s.cursor;
        for (const n of batches) {
          const picked = pickAddresses({ ...s, cursor }, taken, n);
          for (const a of picked) {
            expect(taken.has(a)).toBe(false);
            taken.add(a);
          }
          cursor = picked.at(-1) ?? cursor;
        }
      }),
    );
  });

  it("a released address stays taken for the quarantine, then is free again", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: 0, max: 2 * quarantineMs }), (releasedAt, later) => {
        expect(isTaken({ addr: 1, releasedAt }, releasedAt + later)).toBe(later < quarantineMs);
        expect(isTaken({ addr: 1, releasedAt: null }, releasedAt + later)).toBe(true);
      }),
    );
  });
});

describe("subnet and VNI planning", () => {
  it("takes the first /24 of 10.0.0.0/8 that overlaps nothing", () => {
    expect(formatCidr(planSubnet([])!)).toBe("10.0.0.0/24");
    expect(formatCidr(planSubnet([cidr("10.0.0.0/24"), cidr("10.0.2.0/23")])!)).toBe("10.0.1.0/24");
    expect(formatCidr(planSubnet([cidr("10.0.0.0/16")])!)).toBe("10.1.0.0/24");
    expect(planSubnet([cidr("10.0.0.0/8")])).toBeUndefined();
  });

  it("never overlaps an existing subnet (property)", () => {
    const existing = fc.array(
      fc.record({ a: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 255 }), prefix: fc.integer({ min: 14, max: 29 }) }).map(({ a, b, prefix }) => {
        const base = (parseIpv4(`10.${a}.${b}.0`)! & ~(2 ** (32 - prefix) - 1)) >>> 0;
        return { base, prefix };
      }),
      { maxLength: 30 },
    );
    fc.assert(fc.property(existing, (subnets) => {
      const planned = planSubnet(subnets)!;
      expect(subnets.some((s) => overlaps(s, planned))).toBe(false);
    }));
  });

  it("VNIs start at 4096 and fill gaps", () => {
    expect(planVni([])).toBe(4096);
    expect(planVni([4096, 4097, 4099])).toBe(4098);
  });
});
