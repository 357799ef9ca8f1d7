import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration tests start servers on fixed port ranges; files run in parallel, tests within a file in order.
    fileParallelism: true,
  },
});
