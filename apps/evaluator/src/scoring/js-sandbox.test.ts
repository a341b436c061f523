import { describe, expect, it } from "vitest";
import { runUnitTests } from "./js-sandbox.js";

/**
 * Limits no correct program here comes near, even on a loaded machine (a fresh worker thread and
 * context, then a line of code): a program expected to pass passes by what it does, never because
 * the machine happened to be quick. Programs expected to fail keep the default limits.
 */
const ROOMY = { cpuMs: 20_000, wallMs: 20_000, heapMb: 64 };

// A completion is untrusted code: each of these would freeze or crash an in-process sandbox.
describe("JavaScript unit-test sandbox", () => {
  it("passes a correct program and fails a wrong one", async () => {
    expect(await runUnitTests("function add(a, b) {\n  return a + b;\n}", "add(2, 3) === 5", ROOMY)).toBe(
      true,
    );
    expect(await runUnitTests("function add(a, b) {\n  return a - b;\n}", "add(2, 3) === 5")).toBe(false);
  });

  it("gives the program no Node globals", async () => {
    expect(await runUnitTests("function f() { return typeof process; }", "f() === 'object'")).toBe(false);
    expect(await runUnitTests("function f() { return typeof require; }", "f() === 'function'")).toBe(false);
  });

  it("survives an endless synchronous loop", async () => {
    expect(await runUnitTests("while (true) {}", "true")).toBe(false);
  });

  it("survives an endless promise loop (microtasks the VM timeout alone does not cover)", async () => {
    const completion =
      "0;\n}\nfunction spin() { return Promise.resolve().then(spin); }\nspin();\nfunction g() {";
    expect(await runUnitTests(`function f() {\n  return ${completion}\n}`, "f() === 0")).toBe(false);
    // …even when the loop starts from a job queued before the VM returns, and the evaluator goes on.
    const deferred = "(async () => { for (;;) await null; })();";
    expect(await runUnitTests(deferred, "true", { cpuMs: 10_000, wallMs: 1_500, heapMb: 64 })).toBe(false);
    expect(await runUnitTests("const x = 1;", "x === 1", ROOMY)).toBe(true);
  });

  it("survives a program that allocates without end", async () => {
    const bomb = "const a = []; for (;;) a.push(new Array(1e5).fill(1));";
    expect(await runUnitTests(bomb, "true", { cpuMs: 60_000, wallMs: 60_000, heapMb: 32 })).toBe(false);
  });
});
