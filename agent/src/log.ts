/** The agent's log: what it does and why, for the host's journal. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const field = ([key, value]: [string, unknown]) => `${key}=${typeof value === "string" && !/\s/.test(value) ? value : JSON.stringify(value)}`;

/** `text`: "time LEVEL message key=value…" lines; `json`: one object per line. To stderr unless told. */
export function createLogger(format: "text" | "json", write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const line =
    format === "json"
      ? (level: string, message: string, fields: Record<string, unknown>) => JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })
      : (level: string, message: string, fields: Record<string, unknown>) =>
          [new Date().toISOString(), level.toUpperCase().padEnd(5), message, ...Object.entries(fields).map(field)].join(" ");
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => write(`${line(level, message, fields)}\n`);
  return { info: at("info"), warn: at("warn"), error: at("error") };
}
