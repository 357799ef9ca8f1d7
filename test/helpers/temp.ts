import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Where the tests' databases and state dirs go: memory-backed /dev/shm where there is one. They are
 * the same libSQL files, but a write no longer waits on the disk's flush, which was most of the
 * API tests' time. The e2e tests keep tmpdir() (their hosts run what they find there).
 */
const root = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

const made: string[] = [];
process.once("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new directory, removed when the test process exits. */
export function memoryDir(prefix: string): string {
  const dir = mkdtempSync(join(root, prefix));
  made.push(dir);
  return dir;
}
