/**
 * Service logs (and exec output), the pure parts shared by the control plane (merging what the
 * agents send) and the CLI (printing it as `docker service logs` does).
 */

export type LogStream = "stdout" | "stderr";

/** One line of a task's container, as the engine stamped it. */
export interface LogLine {
  taskId: string;
  stream: LogStream;
  /** RFC 3339 with nanoseconds (the engine's `timestamps=1` prefix). */
  time: string;
  text: string;
}

/** What a log line's prefix names: the task, its slot, its service and node. */
export interface LogTask {
  id: string;
  serviceId: string;
  serviceName: string;
  slot: number | null;
  nodeId: string;
  nodeName: string;
}

/**
 * The records of a log answer (`application/x-ndjson`), one JSON object a line:
 * first `tasks` (who the lines are from), then `line`s in time order, `warning`s
 * for nodes that could not answer, and `end` once every node has sent all it had
 * (a stream without `end` was cut short).
 */
export type LogRecord =
  | { kind: "tasks"; tasks: LogTask[]; replicas: number | null }
  | ({ kind: "line" } & LogLine)
  | { kind: "warning"; message: string }
  | { kind: "end" };

/** The records of an exec answer (`POST /v1/tasks/{id}/exec`), relayed as logs are: output as it comes, then how it ended. */
export type ExecRecord =
  | { kind: "output"; stream: LogStream; data: string }
  | { kind: "exit"; exitCode: number | null; error?: string }
  | { kind: "error"; message: string };

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fractional digits; undefined when it is not one. */
export function logTimeNs(time: string): bigint | undefined {
  const m = rfc3339.exec(time);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** Orders lines by time; lines whose time cannot be read keep their place after the readable ones of their batch. */
export function compareLogLines(a: LogLine, b: LogLine): number {
  const x = logTimeNs(a.time);
  const y = logTimeNs(b.time);
  if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Merges the lines of several nodes by time. Lines from different hosts arrive
 * in separate batches, so a line is held `holdMs` after it arrived: a line of
 * another host stamped earlier that arrives within that window still comes
 * first. `take(now, true)` releases everything (all nodes are done). Pure:
 * the caller passes the clock.
 */
export class LogMerger {
  private held: { line: LogLine; arrived: number; order: number }[] = [];
  private count = 0;

  constructor(private readonly holdMs: number) {}

  get size(): number {
    return this.held.length;
  }

  add(lines: readonly LogLine[], now: number): void {
    for (const line of lines) this.held.push({ line, arrived: now, order: this.count++ });
  }

  /** The lines due at `now` (all with `all`), in time order; a sort that is stable for equal times. */
  take(now: number, all = false): LogLine[] {
    this.held.sort((a, b) => compareLogLines(a.line, b.line) || a.order - b.order);
    if (all) {
      const out = this.held.map((h) => h.line);
      this.held = [];
      return out;
    }
    // Release the sorted prefix that is due; a line not yet due holds back every later one, so the order stays.
    let due = 0;
    while (due < this.held.length && now - this.held[due]!.arrived >= this.holdMs) due++;
    const out = this.held.slice(0, due).map((h) => h.line);
    this.held = this.held.slice(due);
    return out;
  }
}

export interface LogFormat {
  /** Prefix the engine's timestamp (-t). */
  timestamps: boolean;
  /** Leave the task id out of the prefix (--no-task-ids). */
  noTaskIds: boolean;
  /** Whole task ids (--no-trunc). */
  noTrunc: boolean;
  /** Node ids instead of hostnames (--no-resolve). */
  noResolve: boolean;
  /** No prefix at all (--raw). */
  raw: boolean;
  /** Digits of the largest slot: shorter slots are padded after the node, as docker does. */
  slotDigits: number;
}

/** Digits docker pads slots to: the service's replica count's, else the task's slot's. */
export const slotDigitsOf = (replicas: number | null, tasks: readonly LogTask[]): number =>
  String(replicas ?? Math.max(0, ...tasks.map((t) => t.slot ?? 0))).length;

/**
 * A line as `docker service logs` prints it: `[time ]web.1.abcdef123456@node-1    | text`
 * (`--raw`: `[time ]text`). Global tasks show slot 0, as docker does for a task without one.
 */
export function formatLogLine(line: LogLine, task: LogTask | undefined, f: LogFormat): string {
  const time = f.timestamps ? `${line.time} ` : "";
  if (f.raw) return `${time}${line.text}`;
  const slot = task?.slot ?? 0;
  const id = task?.id ?? line.taskId;
  let name = `${task?.serviceName ?? "?"}.${slot}`;
  if (!f.noTaskIds) name += `.${f.noTrunc ? id : id.slice(0, 12)}`;
  const node = task ? (f.noResolve ? task.nodeId : task.nodeName) : "?";
  const padding = " ".repeat(Math.max(0, f.slotDigits - String(slot).length));
  return `${time}${name}@${node}${padding}    | ${line.text}`;
}
