import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaEngineError } from "./errors.js";

/**
 * How to install the binding, named in the `GGUF_ENGINE_UNAVAILABLE` start-up error. The
 * workspace's full `pnpm install` (as contributors, CI and the node's Docker image run it)
 * installs it; `pnpm install --prod`, for nodes without a `gguf` backend, leaves it out.
 */
export const LLAMA_BINDING_INSTALL =
  "run `pnpm install` in the repository (`pnpm install --prod` leaves the GGUF engine out)";

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

/**
 * What to say when `import("node-llama-cpp")` fails: "not installed" only when the package itself
 * cannot be found; any other failure (the package is there but one of its files or dependencies
 * fails to load) names its first line, so that an operator, or a failed test, sees the cause
 * instead of a wrong "not installed". The text stays in the node's own log and start-up error.
 */
export function bindingLoadFailure(cause: unknown): string {
  const code = (cause as { readonly code?: unknown } | null | undefined)?.code;
  const text = cause instanceof Error ? cause.message : String(cause);
  if (code === "ERR_MODULE_NOT_FOUND" && text.includes("'node-llama-cpp'"))
    return `node-llama-cpp is not installed: ${LLAMA_BINDING_INSTALL}`;
  const first = (text.split("\n")[0] ?? "").slice(0, 300);
  // node-llama-cpp parses its environment variables strictly as it loads (the `env-var` package).
  if (first.startsWith("env-var:"))
    return `node-llama-cpp refused an environment variable as it loaded (${first}): fix or unset it`;
  return `node-llama-cpp is installed but could not be loaded (${first}): ${LLAMA_BINDING_INSTALL}`;
}

/** What node-llama-cpp accepts in `CI`, which it reads as a strict boolean when it loads. */
const CI_VALUES: ReadonlySet<string> = new Set(["true", "false", "TRUE", "FALSE", "1", "0"]);

/**
 * Checks, at start-up, the one environment variable outside its own namespace that node-llama-cpp
 * refuses to load with: `CI` set to anything but a boolean (an empty `CI=` included). Without this
 * check the node would start and every load of the model would fail.
 */
export function checkLlamaEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): void {
  const ci = env.CI;
  if (ci === undefined || CI_VALUES.has(ci)) return;
  throw new LlamaEngineError(
    "GGUF_ENGINE_UNAVAILABLE",
    `the environment variable CI is ${JSON.stringify(ci)}, which node-llama-cpp will not load with: unset it or set it to true, false, 1 or 0`,
  );
}
