/**
 * Units as docker's CLI writes them (Go durations, go-units sizes and human
 * durations) and the API's units (ms, bytes, nano-CPUs). Pure.
 * The parsing itself is the domain's value formats (the same as the compose loader's).
 */
import * as valueFormats from "../../domain/units.js";

/** A flag value the user got wrong: the CLI reports it as a usage error (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A Go duration ("10s", "1m30s", "500ms", "0") → whole milliseconds. */
export function parseDurationMs(text: string): number {
  const ms = valueFormats.parseDurationMs(text.trim());
  if (ms === undefined) throw new UsageError(`"${text}" is not a duration: write it like 10s, 1m30s, 500ms or 2h`);
  return ms;
}

/** Milliseconds as Go prints a time.Duration: "1m30s", "500ms", "0s". */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}

/** A memory size as docker takes it (binary units: "512M", "1g", "1.5GiB", "1024") → bytes. */
export function parseMemoryBytes(text: string): number {
  const bytes = valueFormats.parseBytes(text);
  if (bytes === undefined) throw new UsageError(`"${text}" is not a memory size: write it like 512M, 1G or 1048576 (bytes)`);
  return bytes;
}

/** CPUs as a decimal ("0.5", "2") → nano-CPUs. */
export function parseNanoCpus(text: string): number {
  const nanoCpus = valueFormats.parseNanoCpus(text);
  if (nanoCpus === undefined) throw new UsageError(`"${text}" is not a number of CPUs: write it like 0.5 or 2`);
  return nanoCpus;
}

/** A non-negative integer flag value. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`"${text}" is not a whole number`);
  return Number(text);
}

/** Bytes in go-units' BytesSize form: "512MiB", "1.5GiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number(value.toFixed(4)).toString()}${units[i]}`;
}

/** go-units HumanDuration: "Less than a second", "5 minutes", "About an hour", "3 days". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** docker's PrettyPrint of an enum value: first letter upper-cased ("running" → "Running"). */
export const capitalize = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/** docker's TruncateID: the first 12 characters. */
export const truncateId = (id: string) => id.slice(0, 12);
