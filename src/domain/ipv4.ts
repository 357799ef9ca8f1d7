/** IPv4 addresses as unsigned 32-bit numbers, and CIDR subnets. Pure. */

export interface Cidr {
  /** The network address. */
  base: number;
  prefix: number;
}

const octet = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** `10.0.1.2` → its number; undefined when it is not a dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => octet.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export const formatIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** `10.0.1.0/24` → base and prefix; an error message when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr | string {
  const [addr, bits, ...rest] = text.split("/");
  const base = addr === undefined ? undefined : parseIpv4(addr);
  if (base === undefined || bits === undefined || rest.length || !/^\d{1,2}$/.test(bits)) return `"${text}" is not an IPv4 subnet in CIDR form, like 10.0.9.0/24`;
  const prefix = Number(bits);
  if (prefix > 32) return `"${text}": the prefix length must be 0 to 32`;
  if ((base & hostMask(prefix)) !== 0) return `"${text}" has host bits set; the subnet is ${formatCidr({ base: (base & ~hostMask(prefix)) >>> 0, prefix })}`;
  return { base, prefix };
}

export const formatCidr = (c: Cidr) => `${formatIpv4(c.base)}/${c.prefix}`;

const hostMask = (prefix: number) => (prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1) >>> 0) | 0;

export const cidrSize = (c: Cidr) => 2 ** (32 - c.prefix);
export const broadcastOf = (c: Cidr) => c.base + cidrSize(c) - 1;
export const contains = (c: Cidr, addr: number) => addr >= c.base && addr <= broadcastOf(c);
export const overlaps = (a: Cidr, b: Cidr) => a.base <= broadcastOf(b) && b.base <= broadcastOf(a);
