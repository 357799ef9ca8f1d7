/** Compose's value formats: Go durations, docker's byte sizes, CPU counts. Each returns undefined for a bad value. */

const durationUnitsMs: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const durationTerm = "(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|s|m|h)";
const durationPattern = new RegExp(`^\\+?(?:${durationTerm})+$`);
/** Go's time.Duration is int64 nanoseconds: about 292 years. */
const maxDurationMs = 2 ** 63 / 1e6;

/**
 * A Go duration ("1m30s", "500ms", "1.5h", "0") in whole milliseconds, as
 * time.ParseDuration reads it; negative ones are refused (docker's flags and
 * compose take none). The one duration parser: compose files, the CLI's flags
 * and the API's event times.
 */
export function parseDurationMs(text: string): number | undefined {
  if (text === "0" || text === "+0") return 0;
  if (!durationPattern.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(new RegExp(durationTerm, "g"))) ms += Number(amount) * durationUnitsMs[unit!]!;
  return ms < maxDurationMs ? Math.round(ms) : undefined;
}

const byteUnits: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** docker's memory sizes: an integer of bytes, or "512m", "1.5GB", "64k" (binary units, case-insensitive). */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * byteUnits[match[2]!.toLowerCase()]!);
}

/** CPUs as "0.5" or 0.5, in nano-CPUs. */
export function parseNanoCpus(value: string | number): number | undefined {
  const cpus = typeof value === "number" ? value : /^\d+(?:\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isFinite(cpus) && cpus >= 0 ? Math.round(cpus * 1e9) : undefined;
}
