import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { START_CODES, StartFailure, startCodeOf, withStartCode } from "./start-codes.js";

describe("start codes", () => {
  it("puts a failure's own code first, once, with the part that failed after it", () => {
    const taken = Object.assign(new Error("PORT_IN_USE: Port 80 on 0.0.0.0 is already in use."), {
      code: "PORT_IN_USE",
    });
    expect(StartFailure.of(taken, "START_FAILED", "gateway").message).toBe(
      "PORT_IN_USE: gateway: Port 80 on 0.0.0.0 is already in use.",
    );
    // A code that is no start code (a system error's) is not taken for one.
    const system = Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    expect(startCodeOf(system)).toBeUndefined();
    expect(StartFailure.of(system, "DATA_DIR_UNAVAILABLE").message).toBe(
      "DATA_DIR_UNAVAILABLE: EACCES: permission denied",
    );
    expect(withStartCode("INVALID_CONFIG", "INVALID_CONFIG: x")).toBe("INVALID_CONFIG: x");
  });

  it("are every one listed in the operator docs", () => {
    const docs = readFileSync(
      fileURLToPath(new URL("../../../../docs/start-errors.md", import.meta.url)),
      "utf8",
    );
    const listed = [...docs.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.keys(START_CODES));
  });
});
