import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// After each test file, the CLI processes it started are killed and its folders removed. The tests
// that run `pocket-evaluator` run it bundled, built once per run. Two workers share the files (on
// two cores vitest would otherwise start one): the evaluator's are the suite's longest queue after
// the gateway's.
export default mergeConfig(
  baseConfig,
  defineConfig({
    test: {
      setupFiles: ["./test/reap-processes.ts"],
      globalSetup: ["./test/command-bundle.ts"],
      poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    },
  }),
);
