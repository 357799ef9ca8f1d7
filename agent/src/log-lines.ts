import { logTimeNs, type LogStream } from "../../src/domain/log-lines.js";
import { maxLogLineChars } from "../../src/protocol/agent-v1.js";

/** A line of a container's log, with the time the engine stamped on it. */
export interface StampedLine {
  stream: LogStream;
  time: string;
  text: string;
}

/**
 * Cuts the text of one container's log streams (`timestamps=1`) into lines, each
 * stream on its own (a frame of one stream may end inside a line the stream's next
 * frame completes). Each line starts with the engine's RFC 3339 time and a space;
 * a TTY's `\r\n` loses its `\r`; lines over the protocol's limit are cut. Pure.
 */
export class LineSplitter {
  private readonly partial: Record<LogStream, string> = { stdout: "", stderr: "" };

  push(stream: LogStream, text: string): StampedLine[] {
    const parts = (this.partial[stream] + text).split("\n");
    this.partial[stream] = parts.pop()!;
    return parts.map((line) => stamped(stream, line));
  }

  /** What is left without a final newline (a process that printed no newline last). */
  end(): StampedLine[] {
    const rest = (["stdout", "stderr"] as const).filter((s) => this.partial[s] !== "").map((s) => stamped(s, this.partial[s]));
    this.partial.stdout = this.partial.stderr = "";
    return rest;
  }
}

function stamped(stream: LogStream, raw: string): StampedLine {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  const space = line.indexOf(" ");
  const time = space < 0 ? line : line.slice(0, space);
  // Every line the engine sends with timestamps=1 has one; a line without (never seen) keeps its text and gets the epoch.
  if (logTimeNs(time) === undefined) return { stream, time: "1970-01-01T00:00:00.000000000Z", text: line.slice(0, maxLogLineChars) };
  return { stream, time, text: (space < 0 ? "" : line.slice(space + 1)).slice(0, maxLogLineChars) };
}

/** Epoch ms as the engine's `since` takes it: Unix seconds with nine decimals. */
export const engineSinceMs = (ms: number): string => engineSinceNs(BigInt(Math.floor(ms)) * 1_000_000n);

/** The `since` that follows on from a line stamped `time`: one nanosecond after it, so the line is not sent twice. */
export const engineSinceAfter = (time: string): string | undefined => {
  const ns = logTimeNs(time);
  return ns === undefined ? undefined : engineSinceNs(ns + 1n);
};

const engineSinceNs = (ns: bigint): string => `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`;
