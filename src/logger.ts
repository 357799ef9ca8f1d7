import type { Logger } from "./http/context.js";

/** Human-readable lines by default, one JSON object per line with `json`. Writes to stderr. */
export function createLogger(format: "text" | "json", write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (level: string) => (message: string, fields: Record<string, unknown> = {}) => {
    const time = new Date().toISOString();
    if (format === "json") {
      write(`${JSON.stringify({ time, level, message, ...fields })}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ");
    write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${extra ? ` ${extra}` : ""}\n`);
  };
  return { info: log("info"), warn: log("warn"), error: log("error") };
}
