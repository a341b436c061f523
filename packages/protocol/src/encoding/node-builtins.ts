/**
 * Node's built-in modules, reached without a static `node:` import so that the package still loads
 * (and falls back to its portable code) where they are absent: browsers, bundlers that refuse
 * `node:` specifiers, other runtimes. `process.getBuiltinModule` exists from Node 20.16; the
 * package requires 20.19.
 */
import type * as NodeCrypto from "node:crypto";
import type * as NodeModule from "node:module";

type GetBuiltinModule = (id: string) => unknown;

function builtin<T>(id: string): T | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: GetBuiltinModule } }).process;
    const get = proc?.getBuiltinModule;
    return typeof get === "function" ? (get.call(proc, id) as T | undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** `node:crypto`, or `undefined` outside Node. */
export const nodeCrypto: typeof NodeCrypto | undefined = builtin<typeof NodeCrypto>("node:crypto");

/** `node:module`, or `undefined` outside Node. */
export const nodeModule: typeof NodeModule | undefined = builtin<typeof NodeModule>("node:module");

/** One environment variable, or `undefined` where there is no `process.env`. */
export function environmentVariable(name: string): string | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    return env?.[name];
  } catch {
    return undefined;
  }
}
