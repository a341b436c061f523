import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// The tokenizer tests check when a family's tables are built: once per process, so each file needs its own.
export default mergeConfig(baseConfig, defineConfig({ test: { isolate: true } }));
