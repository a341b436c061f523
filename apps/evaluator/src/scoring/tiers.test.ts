import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { percentile } from "./percentile.js";
import { DEFAULT_TIER_BARS, qualifyingServices } from "./tiers.js";

describe("qualifyingServices", () => {
  it("uses the catalog's bars and the interval's lower bound, not the mean", () => {
    expect(DEFAULT_TIER_BARS.find((b) => b.serviceId === "quality-gpt-3.5")).toMatchObject({
      category: "general",
      minScore: 0.6,
    });
    const high = { mean: 0.9, lower: 0.82, upper: 0.95, n: 300 };
    const wide = { mean: 0.9, lower: 0.55, upper: 0.98, n: 10 };
    expect(qualifyingServices({ general: high })).toEqual(["quality-gpt-3.5", "quality-gpt-4"]);
    expect(qualifyingServices({ general: wide })).toEqual([]);
    expect(qualifyingServices({ coding: { mean: 0.6, lower: 0.5, upper: 0.7, n: 80 } })).toEqual([
      "skill-coding",
    ]);
  });
});

describe("percentile", () => {
  it("interpolates and stays within the data", () => {
    expect(percentile([], 10)).toBeNull();
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([10, 20], 10)).toBe(11);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
        fc.integer({ min: 0, max: 100 }),
        (xs, p) => {
          const v = percentile(xs, p)!;
          expect(v).toBeGreaterThanOrEqual(Math.min(...xs));
          expect(v).toBeLessThanOrEqual(Math.max(...xs));
        },
      ),
    );
  });
});
