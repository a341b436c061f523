import { baseConfig } from "@pocket-ai/vitest-config";
import { defineConfig, mergeConfig } from "vitest/config";

// Each file in a process of its own: these tests fake timers and the clock, start workers and
// watch signals, and the HTTP server's drain test hung when it ran after the others in one process.
export default mergeConfig(baseConfig, defineConfig({ test: { isolate: true } }));
