import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { checkLlamaBinding, LLAMA_BINDING_INSTALL, LlamaEngineError } from "../src/index.js";

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
