import type { Clock, Logger } from "../http/context.js";

export interface DeliveryRunner {
  /** Runs a pass now, or once more after the one under way; resolves when that pass is done. */
  nudge(): Promise<void>;
  /** Node: keep running passes, when deliveries fall due and at least every `idleMs` (events written by other instances). */
  start(idleMs: number): void;
  /** Stops the timer; resolves when the pass under way is done. */
  stop(): Promise<void>;
}

/**
 * Serialises delivery passes in one process or isolate: nudges while a pass
 * runs coalesce into one more pass. Correctness never depends on this (claims
 * in the store keep concurrent deliverers apart); it only avoids busy work.
 */
export function createDeliveryRunner(pass: () => Promise<number | null>, opts: { clock: Clock; logger: Logger }): DeliveryRunner {
  let running: Promise<void> | undefined;
  let again = false;
  let started = false;
  let idleMs = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const schedule = (nextDueAt: number | null) => {
    clearTimeout(timer);
    if (!started) return;
    const wait = nextDueAt === null ? idleMs : Math.min(Math.max(0, nextDueAt - opts.clock.now()), idleMs);
    timer = setTimeout(() => void nudge(), wait);
    // The timer alone does not keep a Node process alive.
    (timer as { unref?: () => void }).unref?.();
  };

  async function run(): Promise<void> {
    let nextDueAt: number | null = null;
    do {
      again = false;
      try {
        nextDueAt = await pass();
      } catch (err) {
        opts.logger.error("webhook delivery pass failed", { error: err instanceof Error ? err.message : String(err) });
      }
    } while (again);
    running = undefined;
    schedule(nextDueAt);
  }

  function nudge(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = run();
    return running;
  }

  return {
    nudge,
    start(every) {
      started = true;
      idleMs = every;
      void nudge();
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      await running;
    },
  };
}
