/**
 * Backoff between failed calls: min(100 ms + 2·previous, cap), with jitter;
 * reset on success. The session caps it at the heartbeat period, so that
 * retries never come faster than heartbeats do and a healed link is noticed
 * within one period.
 */
export function nextBackoffMs(previousMs: number, random = Math.random, capMs = 8000): number {
  const base = Math.min(100 + 2 * previousMs, capMs);
  return Math.round(base / 2 + random() * (base / 2));
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
