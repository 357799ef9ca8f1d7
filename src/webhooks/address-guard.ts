/**
 * The SSRF guard's pure half: which addresses and URLs a webhook may not be
 * sent to unless its subscription allows private targets. The runtime senders
 * apply it to literal addresses, and on Node to every address a name resolves to.
 */

/** IPv4 as a 32-bit number; undefined when not dotted-quad. */
function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** IPv6 as eight 16-bit groups; undefined when not an IPv6 address. Zone ids (`%eth0`) are ignored. */
function parseIpv6(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, "");
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  return fill >= 1 ? [...head, ...new Array<number>(fill).fill(0), ...tail] : undefined;
}

const v4Ranges = ([
  ["0.0.0.0", 8, "this-network"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
] as const).map(([base, bits, reason]) => ({ base: parseIpv4(base)!, mask: (~0 << (32 - bits)) >>> 0, reason }));

function classifyIpv4(v4: number): string | undefined {
  return v4Ranges.find(({ base, mask }) => ((v4 & mask) >>> 0) === base)?.reason;
}

function classifyIpv6(g: number[]): string | undefined {
  const [a, b, c, d, e, f] = g as [number, number, number, number, number, number, number, number];
  const v4 = ((g[6]! << 16) | g[7]!) >>> 0;
  if (g.every((x) => x === 0)) return "unspecified";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0xffff || f === 0)) return classifyIpv4(v4);
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return classifyIpv4(v4);
  if ((a & 0xfe00) === 0xfc00) return "unique-local";
  if ((a & 0xffc0) === 0xfe80) return "link-local";
  if ((a & 0xffc0) === 0xfec0) return "site-local";
  if ((a & 0xff00) === 0xff00) return "multicast";
  if (a === 0x2001 && b === 0x0db8) return "documentation";
  if (a === 0x0100 && b === 0 && c === 0 && d === 0) return "discard";
  return undefined;
}

/**
 * Why an IP address may not be a webhook target ("loopback", "private", …);
 * undefined for a public address. `isIp` is false for text that is no address.
 */
export function classifyAddress(address: string): { isIp: boolean; reason?: string } {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return { isIp: true, reason: classifyIpv4(v4) };
  const v6 = parseIpv6(address.replace(/^\[|\]$/g, ""));
  if (v6) return { isIp: true, reason: classifyIpv6(v6) };
  return { isIp: false };
}

/** Names that are this machine or a local network's by convention (RFC 6761, 6762, 8375), not the Internet's. */
export const isLocalName = (hostname: string) =>
  /(^|\.)(localhost|local|internal|home\.arpa|localdomain)\.?$/i.test(hostname);

/**
 * What is wrong with a webhook URL, or undefined: http(s) only, no user
 * info, and no literal address in a refused range unless `allowPrivate`.
 */
export function checkWebhookUrl(url: string, allowPrivate: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not a URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "the scheme must be http or https";
  if (parsed.username || parsed.password) return "the URL may not carry a user name or password";
  const { reason } = classifyAddress(parsed.hostname);
  if (reason && !allowPrivate) return `${parsed.hostname} is a ${reason} address; set allowPrivate to send there`;
  return undefined;
}
