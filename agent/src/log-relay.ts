import type { LogBatch, LogBatchAck, LogSession } from "../../src/protocol/agent-v1.js";
import { maxLogBatchLines } from "../../src/protocol/agent-v1.js";
import { labels } from "./container-spec.js";
import type { DockerClient } from "./docker/client.js";
import { engineSinceAfter, engineSinceMs, LineSplitter, type StampedLine } from "./log-lines.js";
import type { Logger } from "./log.js";

/** What the relay uses of the engine. */
export type LogEngine = Pick<DockerClient, "listContainers" | "inspectContainer" | "streamLogs">;

/** A batch goes out once it holds this much text, or this long after its first line. */
const maxBatchChars = 256 * 1024;
const flushAfterMs = 200;
/** A batch that cannot be sent is tried this many times, then dropped: logs are best effort, the reader warns. */
const sendAttempts = 3;

type Line = LogBatch["lines"][number];

/** A task's container on this host, as the relay reads it. */
interface LogContainer {
  id: string;
  taskId: string;
  tty: boolean;
  /** Started at least once: before that the engine has no log to follow (it answers at once, empty). */
  started: boolean;
}

/** A session being served: its tasks on this host, and, once following, what starts reading one it gains. */
interface ServedSession {
  abort: AbortController;
  taskIds: Set<string>;
  added?: (taskId: string) => void;
}

/** How often a following session looks again for a task's container that is not there or not started yet. */
const containerRecheckMs = 500;

/**
 * The agent's half of service logs (Swarm's agent-side log publisher): serves the
 * log sessions the long-poll lists for this node. For each, it reads the session's
 * tasks' containers through the engine (their backlog with `tail`/`since`, then,
 * following, new lines from just after the last one) and posts their lines in
 * batches over the agent's own outbound connection. A following session's list
 * grows when tasks start after it began (a scale-up, a replaced task): those are
 * read whole, from when their container started. A session is stopped when the
 * poll no longer lists it or a post answers that it is over.
 */
export class LogRelay {
  private readonly sessions = new Map<string, ServedSession>();

  constructor(
    private readonly docker: LogEngine,
    private readonly send: (batch: LogBatch) => Promise<LogBatchAck>,
    private readonly log: Logger,
    /** Whether this host is to run the task (its container may not be created or started yet): a following session waits for it. */
    private readonly expects: (taskId: string) => boolean = () => false,
  ) {}

  /** The sessions the control plane lists now: new ones start, those no longer listed stop, grown ones read their new tasks. */
  set(sessions: LogSession[]): void {
    const listed = new Set(sessions.map((s) => s.id));
    for (const [id, served] of this.sessions) if (!listed.has(id)) served.abort.abort();
    for (const s of sessions) {
      const served = this.sessions.get(s.id);
      if (served) {
        for (const taskId of s.taskIds)
          if (!served.taskIds.has(taskId)) {
            served.taskIds.add(taskId);
            served.added?.(taskId);
          }
        continue;
      }
      const fresh: ServedSession = { abort: new AbortController(), taskIds: new Set(s.taskIds) };
      this.sessions.set(s.id, fresh);
      void this.serve(s, fresh).then(
        () => undefined,
        (err: unknown) => this.log.warn("log session failed", { session: s.id, error: String(err) }),
      );
    }
  }

  /** Stops every session (the agent stops). */
  stop(): void {
    for (const { abort } of this.sessions.values()) abort.abort();
  }

  /** Sends the backlog of the session's tasks, then, following, their new lines and those of tasks the session gains. */
  private async serve(session: LogSession, served: ServedSession): Promise<void> {
    const { abort } = served;
    const signal = abort.signal;
    const batch = new LogBatcher(session.id, this.send, abort, this.log);
    try {
      const found = (await Promise.all(session.taskIds.map((taskId) => this.container(taskId)))).flatMap((c) => (c ? [c] : []));
      const since = session.sinceMs === null ? undefined : engineSinceMs(session.sinceMs);
      const startedAt = engineSinceMs(Date.now());
      // A container that never started has no backlog; following, it is read once it starts.
      const containers = found.filter((c) => c.started || !session.follow);
      const last = await Promise.all(containers.map((c) => this.read(c, { tail: session.tail ?? "all", since, follow: false }, batch, signal)));
      await batch.flush(true);
      if (!session.follow) return;
      const following: Promise<void>[] = [];
      const follow = (taskId: string, run: Promise<unknown>) =>
        following.push(run.then(
          () => undefined,
          (err: unknown) => this.log.warn("a task's logs could not be followed", { session: session.id, task: taskId, error: String(err) }),
        ));
      // From just after the last line sent (else from when the backlog was read), so nothing is lost or sent twice.
      containers.forEach((c, i) => follow(c.taskId, this.read(c, { tail: "all", since: last[i] ?? since ?? startedAt, follow: true }, batch, signal)));
      // Tasks with no started container yet, and those the session gains later: all their lines are new to the reader.
      served.added = (taskId) => follow(taskId, this.followWhenStarted(taskId, since, batch, signal));
      const read = new Set(containers.map((c) => c.taskId));
      for (const taskId of served.taskIds) if (!read.has(taskId)) served.added(taskId);
      // Stopped containers send nothing more; the session stays open until its reader leaves.
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve())));
      await Promise.all(following);
    } finally {
      batch.close();
      if (this.sessions.get(session.id) === served) this.sessions.delete(session.id);
    }
  }

  /**
   * Follows a task's container from its first line (at or after `since`) once it has started.
   * Until then it looks again every 500 ms while this host is to run the task; a task this host
   * neither has a container of nor runs is given up on.
   */
  private async followWhenStarted(taskId: string, since: string | undefined, batch: LogBatcher, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const c = await this.container(taskId);
      if (c?.started) {
        await this.read(c, { tail: "all", since, follow: true }, batch, signal);
        return;
      }
      if (!c && !this.expects(taskId)) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, containerRecheckMs);
        signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }

  /** The task's container, if it is on this host. */
  private async container(taskId: string): Promise<LogContainer | undefined> {
    const [c] = await this.docker.listContainers({ all: true, labelFilters: [`${labels.task}=${taskId}`] });
    if (!c) return undefined;
    const tty = (await this.docker.inspectContainer(c.Id)).Config.Tty;
    return { id: c.Id, taskId, tty, started: c.State !== "created" };
  }

  /** Reads one container's logs into the batch; returns the `since` that follows on from its last line, if it sent any. */
  private async read(
    c: LogContainer,
    opts: { tail: number | "all"; since: string | undefined; follow: boolean },
    batch: LogBatcher,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const splitter = new LineSplitter();
    let last: string | undefined;
    const add = (lines: StampedLine[]) => {
      for (const l of lines) {
        last = l.time;
        batch.add({ taskId: c.taskId, ...l });
      }
    };
    await this.docker.streamLogs(
      c.id,
      { tail: opts.tail, since: opts.since, timestamps: true, follow: opts.follow, tty: c.tty },
      (chunks) => {
        for (const chunk of chunks) add(splitter.push(chunk.stream, chunk.text));
      },
      signal,
    );
    add(splitter.end());
    return last === undefined ? undefined : engineSinceAfter(last);
  }
}

/** Collects a session's lines and posts them in bounded batches, one post at a time, in order. */
class LogBatcher {
  private lines: Line[] = [];
  private chars = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly sessionId: string,
    private readonly send: (batch: LogBatch) => Promise<LogBatchAck>,
    private readonly abort: AbortController,
    private readonly log: Logger,
  ) {}

  add(line: Line): void {
    if (this.abort.signal.aborted) return;
    this.lines.push(line);
    this.chars += line.text.length + 64;
    if (this.chars >= maxBatchChars || this.lines.length >= maxLogBatchLines) void this.flush(false);
    else this.timer ??= setTimeout(() => void this.flush(false), flushAfterMs);
  }

  /** Sends what is held (with `caughtUp`: the backlog is all sent), after the posts before it. */
  flush(caughtUp: boolean): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.lines;
    this.lines = [];
    this.chars = 0;
    this.sending = this.sending.then(async () => {
      if (this.abort.signal.aborted || (lines.length === 0 && !caughtUp)) return;
      for (let attempt = 1; ; attempt++) {
        try {
          const ack = await this.send({ sessionId: this.sessionId, lines, caughtUp });
          if (!ack.open) this.abort.abort();
          return;
        } catch (err) {
          if (attempt >= sendAttempts || this.abort.signal.aborted) {
            this.log.warn("log lines could not be sent; dropped", { session: this.sessionId, lines: lines.length, error: String(err) });
            return;
          }
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    });
    return this.sending;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
