import type { Constraint } from "../domain/constraint.js";

/** The attributes of a node that constraints can name. */
export interface ConstraintTarget {
  id: string;
  hostname: string;
  role: string;
  os: string;
  architecture: string;
  addr: string;
  labels: Record<string, string>;
  engineLabels: Record<string, string>;
}

function lookupLabel(labels: Record<string, string>, name: string): string {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(labels)) if (k.toLowerCase() === lower) return v;
  return "";
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** node.ip takes an address or a CIDR (IPv4 CIDRs; IPv6 addresses compare exactly). */
function ipMatches(addr: string, value: string): boolean {
  const [net, bitsText] = value.split("/");
  if (bitsText === undefined) return addr.toLowerCase() === value.toLowerCase();
  const bits = Number(bitsText);
  const a = ipv4ToInt(addr);
  const b = ipv4ToInt(net!);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  if (bits === 0) return true;
  const mask = (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** The node's value for a constraint key, or undefined for keys Swarm does not know. */
function valueOf(node: ConstraintTarget, key: string): string | undefined {
  const lower = key.toLowerCase();
  if (lower.startsWith("node.labels.")) return lookupLabel(node.labels, key.slice("node.labels.".length));
  if (lower.startsWith("engine.labels.")) return lookupLabel(node.engineLabels, key.slice("engine.labels.".length));
  switch (lower) {
    case "node.id":
      return node.id;
    case "node.hostname":
      return node.hostname;
    case "node.role":
      return node.role;
    case "node.platform.os":
      return node.os;
    case "node.platform.arch":
      return node.architecture;
    default:
      return undefined;
  }
}

export function constraintMatches(node: ConstraintTarget, c: Constraint): boolean {
  if (c.key.toLowerCase() === "node.ip") {
    const hit = ipMatches(node.addr, c.value);
    return c.operator === "==" ? hit : !hit;
  }
  const actual = valueOf(node, c.key);
  if (actual === undefined) return false;
  const equal = actual.toLowerCase() === c.value.toLowerCase();
  return c.operator === "==" ? equal : !equal;
}
