import fc from "fast-check";
import { allGenerators, expectStillServing, setUpTarget } from "./generators.js";

/**
 * `npm run fuzz`: the generators of test/fuzz/grammar.test.ts for a bounded time each
 * (FUZZ_SECONDS, default 60 per generator; FUZZ_SEED to replay a run; FUZZ_ONLY=compose to run
 * the generators whose name contains it). Prints the cases run per generator; on a failure,
 * prints the smallest failing case fast-check's shrinking found and exits 1.
 */
const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const only = process.env.FUZZ_ONLY;
if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`FUZZ_SECONDS must be a positive number, not ${process.env.FUZZ_SECONDS}`);

const target = await setUpTarget();
let failed = false;
process.stdout.write(`fuzz: seed ${seed}, ${seconds} s per generator\n`);
for (const generator of allGenerators(target)) {
  if (only && !generator.name.includes(only)) continue;
  let cases = 0;
  // fast-check races the case running at the time limit against it and returns without waiting;
  // that case's requests would otherwise still be writing while the next generator fingerprints.
  let running: Promise<void> = Promise.resolve();
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(generator.arbitrary, (value) => {
      cases++;
      running = generator.check(target, value);
      return running;
    }),
    // As many cases as fit in the time; the shrinking of a failure is not cut short by it.
    { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false, seed },
  );
  const cutOff = await running.then(() => undefined, (err: unknown) => err);
  const elapsed = ((performance.now() - started) / 1000).toFixed(1);
  if (cutOff && !details.failed) {
    failed = true;
    process.stdout.write(`${generator.name}: the case running at the time limit FAILED (${elapsed} s)\n${String(cutOff)}\n`);
  } else if (details.failed) {
    failed = true;
    process.stdout.write(`${generator.name}: FAILED after ${details.numRuns} cases (${cases} with shrinking, ${elapsed} s)\n${fc.defaultReportMessage(details)}\n${String(details.errorInstance)}\n`);
  } else process.stdout.write(`${generator.name}: ${details.numRuns} cases, none failed (${elapsed} s)\n`);
}
try {
  await expectStillServing(target);
} catch (err) {
  failed = true;
  process.stdout.write(`${(err as Error).message}\n`);
}
if (target.t.errors.length) {
  failed = true;
  process.stdout.write(`errors logged: ${JSON.stringify(target.t.errors).slice(0, 4000)}\n`);
}
await target.close();
process.exit(failed ? 1 : 0);
