import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// The storage tests run on SQLite and on a throwaway PostgreSQL server started once per run; the
// tests that run `pocket-gateway` run it bundled, built once per run.
export default mergeConfig(
  baseConfig,
  defineConfig({
    test: { globalSetup: ["./test/support/postgres-global-setup.ts", "./test/support/command-bundle.ts"] },
  }),
);
