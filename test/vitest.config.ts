import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration tests start servers on free ports; files run in parallel, tests within a file in order.
    fileParallelism: true,
    // Most files wait on servers, agents and timers rather than use a core: three at a time
    // (vitest's default is one fewer than the cores, one file at a time on two).
    maxWorkers: 3,
  },
});
