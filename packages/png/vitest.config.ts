import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// png.test.ts mocks node:zlib, which must not reach the other files.
export default mergeConfig(baseConfig, defineConfig({ test: { isolate: true } }));
