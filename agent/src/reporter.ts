import type { TaskState } from "../../src/domain/task-states.js";
import { maxStatusUpdates, type TaskStatusUpdate } from "../../src/protocol/agent-v1.js";
import type { Logger } from "./log.js";

/** Queues the observed state of a task for the control plane. */
export type Report = (taskId: string, state: TaskState, extra?: Omit<TaskStatusUpdate, "taskId" | "state">) => void;

/** Reports made within this window go out in one request. */
const defaultBatchMs = 20;

/**
 * The reporter: task status reports, each state of a task once, sent in small
 * batches in the order they were made. A batch that fails stays at the front
 * of the queue for the next flush, so nothing is lost or reordered.
 */
export class Reporter {
  private readonly reported = new Map<string, TaskState>();
  private outbox: TaskStatusUpdate[] = [];
  private flushSoon: NodeJS.Timeout | undefined;
  /** Flushes run one after another: two in flight could arrive out of order. */
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (updates: TaskStatusUpdate[]) => Promise<unknown>,
    private readonly log: Logger,
    private readonly batchMs = defaultBatchMs,
  ) {}

  readonly report: Report = (taskId, state, extra = {}) => {
    if (this.reported.get(taskId) === state) return;
    this.reported.set(taskId, state);
    this.outbox.push({ taskId, state, ...extra });
    this.flushSoon ??= setTimeout(() => {
      this.flushSoon = undefined;
      this.flush().catch((err) => this.log.warn("status report failed; will retry", { error: String(err) }));
    }, this.batchMs);
  };

  /** The tasks whose last reported state is one of `states`. */
  tasksIn(states: readonly TaskState[]): string[] {
    return [...this.reported].filter(([, state]) => states.includes(state)).map(([taskId]) => taskId);
  }

  /** Sends what is queued; rejects (keeping it queued) when the control plane cannot be reached. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.sendQueued());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async sendQueued(): Promise<void> {
    while (this.outbox.length > 0) {
      const updates = this.outbox.splice(0, maxStatusUpdates);
      try {
        await this.send(updates);
      } catch (err) {
        this.outbox = [...updates, ...this.outbox];
        throw err;
      }
    }
  }
}
