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
    // A package's test files run one after another in one worker that keeps the modules it has
    // loaded: importing an app's module graph afresh for every file was a third or more of the
    // suite's time on 2 cores. So a test file cleans up what it starts (servers, processes,
    // timers), and one that needs a module's state fresh loads it with `vi.resetModules()` and a
    // dynamic import; a package whose tests mock modules or count on fresh module state turns
    // isolation back on in its own config.
    isolate: false,
    // One fixed seed for every property test (see fixed-seeds.js); FC_SEED explores others.
    setupFiles: [fileURLToPath(new URL("./fixed-seeds.js", import.meta.url))],
  },
  // fast-check is imported by the setup file above from here, but must be the copy the tests use.
  resolve: { dedupe: ["fast-check"] },
});
