import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaEngineError } from "./errors.js";

/**
 * How to install the binding, named in the `GGUF_ENGINE_UNAVAILABLE` start-up error. A workspace
 * `pnpm install` (with dev dependencies, as contributors and CI run it) installs it;
 * `pnpm install --prod` and `pnpm deploy --prod` leave it out.
 */
export const LLAMA_BINDING_INSTALL =
  "run `pnpm install` (without --prod) in the repository, or `pnpm add node-llama-cpp@3.22.1` in a deployed node";

/**
 * Checks, without loading it, that the llama.cpp binding (the npm package node-llama-cpp, an
 * optional peer of this package) can be found from `from` (a file URL or path; default this
 * package). Synchronous, so that a node with a `gguf` backend and no binding refuses to start with
 * `GGUF_ENGINE_UNAVAILABLE` and the command that installs it.
 */
export function checkLlamaBinding(from: string | URL = import.meta.url): void {
  // As `import()` resolves a bare name: each `node_modules` from here up to the root (ESM
  // resolution ignores NODE_PATH, which pnpm's command shims set).
  const start = typeof from === "string" && !from.startsWith("file:") ? from : fileURLToPath(from);
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", "node-llama-cpp", "package.json"))) return;
    if (dirname(dir) === dir) break;
  }
  throw new LlamaEngineError(
    "GGUF_ENGINE_UNAVAILABLE",
    `node-llama-cpp is not installed: ${LLAMA_BINDING_INSTALL}`,
  );
}
