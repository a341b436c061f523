import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The vitest configuration every package shares. Tests sit beside the code as `*.test.ts`;
 * benchmarks live in `bench/` and never run here. Plain JavaScript because Node loads this file
 * before any TypeScript transform is in place.
 */
export const baseConfig = defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**", "bench/**"],
    // Real HTTP servers and SQLite files are used in tests; give them room on a 2-core CI machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // One fixed seed for every property test (see fixed-seeds.js); FC_SEED explores others.
    setupFiles: [fileURLToPath(new URL("./fixed-seeds.js", import.meta.url))],
  },
  // fast-check is imported by the setup file above from here, but must be the copy the tests use.
  resolve: { dedupe: ["fast-check"] },
});
