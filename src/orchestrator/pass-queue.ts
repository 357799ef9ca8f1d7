/**
 * One pass at a time per database in this process. Callers that arrive while a
 * pass runs share the one pass that starts after it, so each sees a pass that
 * read after its own write, and a crowd of requests (every node's heartbeat
 * while a large service is marked) costs two passes, not one each that all
 * but one would lose at the generation guard. Other processes still race, and
 * the guard orders them.
 */
export class PassQueue {
  private running?: Promise<void>;
  private queued?: { promise: Promise<void>; now: number };

  run(now: number, pass: (now: number) => Promise<void>): Promise<void> {
    if (!this.running) {
      this.running = pass(now).finally(() => (this.running = undefined));
      return this.running;
    }
    if (this.queued) {
      this.queued.now = Math.max(this.queued.now, now);
      return this.queued.promise;
    }
    const queued = { now, promise: Promise.resolve() };
    queued.promise = this.running
      .catch(() => undefined)
      .then((): Promise<void> => {
        this.queued = undefined;
        return this.run(queued.now, pass);
      });
    this.queued = queued;
    return queued.promise;
  }
}

