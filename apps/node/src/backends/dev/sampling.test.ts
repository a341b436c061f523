import { describe, expect, it } from "vitest";
import { createRng } from "./rng.js";
import { argmax, sampleToken } from "./sampling.js";

const probs = Float64Array.from([0.05, 0.5, 0.3, 0.1, 0.05]);
const counts = (options: { temperature: number; topP: number; topK: number; banned?: number }, n = 5000) => {
  const rng = createRng(11);
  const seen = new Array<number>(probs.length).fill(0);
  for (let i = 0; i < n; i++) seen[sampleToken(probs, { ...options, rng })]!++;
  return seen.map((c) => c / n);
};

describe("sampleToken", () => {
  it("takes the most probable token at temperature 0", () => {
    expect(sampleToken(probs, { temperature: 0, topP: 1, topK: 0, rng: createRng(1) })).toBe(1);
    expect(argmax(probs, 1)).toBe(2);
  });

  it("follows the distribution at temperature 1", () => {
    const freq = counts({ temperature: 1, topP: 1, topK: 0 });
    for (const [i, f] of freq.entries()) expect(f).toBeCloseTo(probs[i]!, 1);
  });

  it("keeps only the top k", () => {
    const freq = counts({ temperature: 1, topP: 1, topK: 2 });
    expect(freq[0]! + freq[3]! + freq[4]!).toBe(0);
    expect(freq[1]!).toBeCloseTo(0.5 / 0.8, 1);
  });

  it("keeps only the nucleus", () => {
    const freq = counts({ temperature: 1, topP: 0.75, topK: 0 });
    expect(freq[0]! + freq[3]! + freq[4]!).toBe(0);
    expect(freq[2]!).toBeGreaterThan(0.2);
  });

  it("sharpens at low temperature and never draws a banned token", () => {
    expect(counts({ temperature: 0.2, topP: 1, topK: 0 })[1]!).toBeGreaterThan(0.9);
    expect(counts({ temperature: 1, topP: 1, topK: 0, banned: 1 })[1]).toBe(0);
  });
});
