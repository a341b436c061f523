import { describe, expect, it } from "vitest";
import { createRng, randomSeed } from "./rng.js";

const draw = (seed: number, n = 8): number[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.nextUint32());
};

describe("rng", () => {
  it("repeats a sequence for a seed and differs across seeds", () => {
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    // Seeds above 32 bits are not truncated into each other.
    expect(draw(2 ** 40)).not.toEqual(draw(0));
    expect(draw(2 ** 40 + 1)).not.toEqual(draw(1));
  });

  it("produces floats in [0, 1) with a plausible mean", () => {
    const rng = createRng(7);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(sum / 20_000).toBeCloseTo(0.5, 1);
  });

  it("refuses seeds that are not safe integers", () => {
    expect(() => createRng(1.5)).toThrow(RangeError);
    expect(Number.isSafeInteger(randomSeed())).toBe(true);
  });
});
