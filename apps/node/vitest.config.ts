import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// The tests that run `pocket-node` run it bundled, built once per run.
export default mergeConfig(
  baseConfig,
  defineConfig({ test: { globalSetup: ["./test/helpers/command-bundle.ts"] } }),
);
