import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mannWhitney, normalCdf } from "./mann-whitney.js";

const sample = fc.array(fc.double({ min: -10, max: 0, noNaN: true }), { minLength: 1, maxLength: 40 });

describe("mannWhitney", () => {
  it("computes U as the count of pairs where a wins (ties count half)", () => {
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).u).toBe(0);
    expect(mannWhitney([4, 5, 6], [1, 2, 3]).u).toBe(9);
    expect(mannWhitney([1, 2], [2, 3]).u).toBe(0.5);
  });

  it("rejects clearly separated samples and not identical ones", () => {
    const a = Array.from({ length: 20 }, (_, i) => -1 - i * 0.01);
    const b = Array.from({ length: 20 }, (_, i) => -3 - i * 0.01);
    expect(mannWhitney(a, b).pValue).toBeLessThan(1e-6);
    expect(mannWhitney(a, a).pValue).toBeCloseTo(1, 5);
  });

  it("gives a p-value in [0, 1], symmetric in its samples", () => {
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const ab = mannWhitney(a, b);
        const ba = mannWhitney(b, a);
        expect(ab.pValue).toBeGreaterThanOrEqual(0);
        expect(ab.pValue).toBeLessThanOrEqual(1);
        expect(ab.pValue).toBeCloseTo(ba.pValue, 9);
        expect(ab.u + ba.u).toBeCloseTo(a.length * b.length, 9);
      }),
    );
  });

  it("depends only on ranks (a monotone transform changes nothing)", () => {
    // Integers, so that the transform cannot merge two distinct values into a tie.
    const ints = fc.array(fc.integer({ min: -1000, max: 0 }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(ints, ints, (a, b) => {
        const f = (x: number) => Math.exp(x / 100) * 3 + 1;
        expect(mannWhitney(a.map(f), b.map(f)).pValue).toBeCloseTo(mannWhitney(a, b).pValue, 9);
      }),
    );
  });

  it("has a normal CDF close to known values", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 5);
  });
});
