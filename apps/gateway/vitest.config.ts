import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// The storage tests run on SQLite and on a throwaway PostgreSQL server started once per run; the
// tests that run `pocket-gateway` run it bundled, built once per run. The gateway's files are the
// suite's longest queue: two workers share them (on two cores vitest would otherwise start one), so
// the suite's end does not wait on one worker while the other core idles.
export default mergeConfig(
  baseConfig,
  defineConfig({
    test: {
      globalSetup: ["./test/support/postgres-global-setup.ts", "./test/support/command-bundle.ts"],
      poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    },
  }),
);
