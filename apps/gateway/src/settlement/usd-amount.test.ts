import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatUsd, parseUsd } from "./usd-amount.js";

describe("dollar amounts", () => {
  it("parses decimal dollars to µUSD without floats", () => {
    expect(parseUsd("0.25")).toBe(250_000);
    expect(parseUsd("$0.25")).toBe(250_000);
    expect(parseUsd("0.29")).toBe(290_000); // 0.29 * 1e6 is 289999.99999999994 in floating point
    expect(parseUsd("1")).toBe(1_000_000);
    expect(parseUsd("$4.5")).toBe(4_500_000);
    expect(parseUsd("0.000001")).toBe(1);
    expect(parseUsd(" 12.000750 ")).toBe(12_000_750);
  });

  it("refuses what is not a plain dollar amount", () => {
    for (const bad of [
      "",
      "$",
      "-1",
      "1e3",
      "0.0000001",
      "1,5",
      "01",
      ".5",
      "5.",
      "$$1",
      "1 000",
      "1000000000",
    ]) {
      expect(() => parseUsd(bad), bad).toThrow(SyntaxError);
    }
  });

  it("formats µUSD back to the same dollars", () => {
    expect(formatUsd(250_000)).toBe("0.25");
    expect(formatUsd(750n)).toBe("0.00075");
    expect(formatUsd(75_000_000n)).toBe("75");
    expect(formatUsd(-1_500_000n)).toBe("-1.5");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999_999_999 }), (micro) => {
        expect(parseUsd(formatUsd(micro))).toBe(micro);
      }),
    );
  });
});
