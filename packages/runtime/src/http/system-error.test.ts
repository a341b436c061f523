import { describe, expect, it } from "vitest";
import { hasSystemErrorCode } from "./system-error.js";

const coded = (code: string) => Object.assign(new Error(code), { code });

describe("hasSystemErrorCode", () => {
  it("finds a code on the error or one it wraps, and nothing else", () => {
    const reset = new Set(["ECONNRESET"]);
    expect(hasSystemErrorCode(coded("ECONNRESET"), reset)).toBe(true);
    expect(hasSystemErrorCode(new TypeError("fetch failed", { cause: coded("ECONNRESET") }), reset)).toBe(
      true,
    );
    expect(hasSystemErrorCode(new TypeError("fetch failed", { cause: coded("EMFILE") }), reset)).toBe(false);
    expect(hasSystemErrorCode({ code: "ECONNRESET" }, reset)).toBe(false);
    // A cycle of causes ends.
    const loop: Error & { cause?: unknown } = new Error("loop");
    loop.cause = loop;
    expect(hasSystemErrorCode(loop, reset)).toBe(false);
  });
});
