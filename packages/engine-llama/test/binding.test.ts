import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  bindingLoadFailure,
  checkLlamaBinding,
  LLAMA_BINDING_INSTALL,
  LlamaEngineError,
} from "../src/index.js";

describe("checkLlamaBinding", () => {
  it("finds node-llama-cpp where a workspace install put it", () => {
    expect(() => checkLlamaBinding()).not.toThrow();
  });

  it("names GGUF_ENGINE_UNAVAILABLE and the install command where the binding is not installed", () => {
    // A directory with no node_modules above it that holds node-llama-cpp: resolution fails for real.
    const elsewhere = mkdtempSync(join(tmpdir(), "no-binding-"));
    let error: unknown;
    try {
      checkLlamaBinding(pathToFileURL(join(elsewhere, "index.js")));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LlamaEngineError);
    expect((error as LlamaEngineError).code).toBe("GGUF_ENGINE_UNAVAILABLE");
    expect((error as Error).message).toBe(
      `GGUF_ENGINE_UNAVAILABLE: node-llama-cpp is not installed: ${LLAMA_BINDING_INSTALL}`,
    );
    expect(LLAMA_BINDING_INSTALL).toContain("run `pnpm install` in the repository");
  });
});

describe("bindingLoadFailure", () => {
  /** What `import()` of a file that imports node-llama-cpp (or fails itself) throws. */
  const importError = async (source: string) => {
    const dir = mkdtempSync(join(tmpdir(), "binding-import-"));
    const file = join(dir, "entry.mjs");
    writeFileSync(file, source);
    try {
      await import(pathToFileURL(file).href);
    } catch (e) {
      return e;
    }
    throw new Error("the import did not fail");
  };

  it("says not installed only when node-llama-cpp itself cannot be found", async () => {
    // A folder with no node_modules above it that holds node-llama-cpp: resolution fails for real.
    const missing = await importError('import "node-llama-cpp";\n');
    expect(bindingLoadFailure(missing)).toBe(`node-llama-cpp is not installed: ${LLAMA_BINDING_INSTALL}`);
  });

  it("names the cause when the package is there but fails to load", async () => {
    const broken = await importError('throw new Error("EMFILE: too many open files\\nmore lines");\n');
    const message = bindingLoadFailure(broken);
    expect(message).toBe(
      `node-llama-cpp is installed but could not be loaded (EMFILE: too many open files): ${LLAMA_BINDING_INSTALL}`,
    );
    // Another package missing among its dependencies is not "node-llama-cpp is not installed".
    const dependency = await importError('import "lifecycle-utils-that-is-not-there";\n');
    expect(bindingLoadFailure(dependency)).toContain(
      "is installed but could not be loaded (Cannot find package",
    );
  });
});
