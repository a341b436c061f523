import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// After each test file, the CLI processes it started are killed and its folders removed. The tests
// that run `pocket-evaluator` run it bundled, built once per run.
export default mergeConfig(
  baseConfig,
  defineConfig({
    test: { setupFiles: ["./test/reap-processes.ts"], globalSetup: ["./test/command-bundle.ts"] },
  }),
);
