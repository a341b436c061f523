import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimate, wilsonInterval } from "./wilson.js";

describe("wilsonInterval", () => {
  it("matches a worked example (8 of 10)", () => {
    const e = wilsonInterval(8, 10);
    expect(e.lower).toBeCloseTo(0.4902, 3);
    expect(e.upper).toBeCloseTo(0.9433, 3);
  });

  it("has no evidence at n = 0", () => {
    expect(wilsonInterval(0, 0)).toEqual({ mean: 0, lower: 0, upper: 1, n: 0 });
  });

  it("always holds the mean inside [lower, upper] ⊆ [0, 1]", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, share) => {
          const k = Math.round(share * n);
          const e = wilsonInterval(k, n);
          expect(e.lower).toBeGreaterThanOrEqual(0);
          expect(e.upper).toBeLessThanOrEqual(1);
          expect(e.lower).toBeLessThanOrEqual(e.mean + 1e-12);
          expect(e.upper).toBeGreaterThanOrEqual(e.mean - 1e-12);
        },
      ),
    );
  });

  it("narrows as the sample grows at the same proportion", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 10 }), (n, tenths) => {
        const k = Math.round((tenths / 10) * n);
        const small = wilsonInterval(k, n);
        const large = wilsonInterval(k * 4, n * 4);
        expect(large.upper - large.lower).toBeLessThanOrEqual(small.upper - small.lower + 1e-12);
      }),
    );
  });

  it("estimates 0/1 item scores", () => {
    expect(estimate([1, 0, 1, 1]).mean).toBe(0.75);
    expect(estimate([1, 0, 1, 1]).n).toBe(4);
  });
});
