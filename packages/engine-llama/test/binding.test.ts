import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  bindingLoadFailure,
  checkLlamaBinding,
  checkLlamaEnvironment,
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

describe("checkLlamaEnvironment", () => {
  it("refuses a CI that node-llama-cpp would not load with, and names the fix", () => {
    expect(() => checkLlamaEnvironment({})).not.toThrow();
    for (const ok of ["true", "false", "1", "0", "TRUE"])
      expect(() => checkLlamaEnvironment({ CI: ok })).not.toThrow();
    for (const bad of ["", "yes"]) {
      let error: unknown;
      try {
        checkLlamaEnvironment({ CI: bad });
      } catch (e) {
        error = e;
      }
      expect((error as LlamaEngineError).code).toBe("GGUF_ENGINE_UNAVAILABLE");
      expect((error as Error).message).toContain(`CI is ${JSON.stringify(bad)}`);
      expect((error as Error).message).toContain("unset it or set it to true, false, 1 or 0");
    }
  });

  it("matches what node-llama-cpp itself refuses: its load fails with CI empty", async () => {
    const dir = mkdtempSync(join(tmpdir(), "binding-ci-"));
    const file = join(dir, "entry.mjs");
    // The binding as this package finds it; the entry sets CI before node-llama-cpp reads it.
    const binding = pathToFileURL(createRequire(import.meta.url).resolve("node-llama-cpp")).href;
    writeFileSync(file, `process.env.CI = "";\nawait import(${JSON.stringify(binding)});\n`);
    let failed = "";
    try {
      execFileSync(process.execPath, [file], { stdio: "pipe" });
    } catch (e) {
      failed = String((e as { stderr?: Buffer }).stderr ?? e);
    }
    expect(failed).toContain('env-var: "CI"');
    expect(bindingLoadFailure(new Error(failed.slice(failed.indexOf("env-var:"))))).toMatch(
      /^node-llama-cpp refused an environment variable as it loaded \(env-var: "CI"/,
    );
  }, 60_000);
});
