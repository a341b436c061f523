import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// After each test file, the CLI processes it started are killed and its folders removed.
export default mergeConfig(baseConfig, defineConfig({ test: { setupFiles: ["./test/reap-processes.ts"] } }));
