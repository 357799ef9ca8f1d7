import { describe, expect, it } from "vitest";
import { PassQueue } from "../../src/orchestrator/pass-queue.js";

/** A pass that runs until released, recording when it started. */
function passes() {
  const started: number[] = [];
  const release: (() => void)[] = [];
  const pass = (now: number) =>
    new Promise<void>((resolve) => {
      started.push(now);
      release.push(resolve);
    });
  return { started, release, pass };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("PassQueue", () => {
  it("a crowd that arrives during a pass shares one pass after it, at the latest caller's time", async () => {
    const q = new PassQueue();
    const p = passes();
    const first = q.run(1, p.pass);
    const crowd = Array.from({ length: 50 }, (_, i) => q.run(10 + i, p.pass));
    let crowdDone = false;
    void Promise.all(crowd).then(() => (crowdDone = true));
    expect(p.started).toEqual([1]);
    p.release[0]!();
    await first;
    await tick();
    // Each caller's write may have come after the first pass read: the crowd waits for a pass that started after it.
    expect(p.started).toEqual([1, 59]);
    expect(crowdDone).toBe(false);
    p.release[1]!();
    await Promise.all(crowd);
    expect(p.started).toHaveLength(2);
  });

  it("a caller with no pass running starts one at once; a failed pass fails its callers only", async () => {
    const q = new PassQueue();
    const failing = q.run(1, () => Promise.reject(new Error("lost")));
    const after = q.run(2, async () => undefined);
    await expect(failing).rejects.toThrow("lost");
    await expect(after).resolves.toBeUndefined();
    let ran = 0;
    await q.run(3, async () => void ran++);
    expect(ran).toBe(1);
  });
});
