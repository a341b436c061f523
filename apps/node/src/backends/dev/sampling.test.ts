import { describe, expect, it } from "vitest";
import { createRng } from "./rng.js";
import { argmax, countToken, penalize, sampleToken } from "./sampling.js";

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

  it("penalizes generated tokens by presence once and by frequency per use, leaving the model's own distribution", () => {
    const generated = new Map<number, number>();
    expect(penalize(probs, generated, 2, 2)).toBe(probs);
    countToken(generated, 1);
    countToken(generated, 1);
    countToken(generated, 2);
    expect(penalize(probs, generated, 0, 0)).toBe(probs);
    const penalized = penalize(probs, generated, 0.5, 0.25);
    expect(probs[1]).toBe(0.5);
    // Relative to an untouched token, a logit drops by presence + frequency × count.
    const drop = (i: number) => Math.log(probs[i]! / probs[0]!) - Math.log(penalized[i]! / penalized[0]!);
    expect(drop(1)).toBeCloseTo(0.5 + 0.25 * 2, 10);
    expect(drop(2)).toBeCloseTo(0.5 + 0.25, 10);
    expect(drop(3)).toBeCloseTo(0, 10);
    expect(Math.max(...penalized)).toBe(1);
    expect(argmax(penalize(probs, generated, 2, 0))).toBe(3);
    // A negative penalty on a long answer stays finite.
    const many = new Map([[0, 100_000]]);
    const boosted = penalize(probs, many, -2, -2);
    expect(boosted.every(Number.isFinite)).toBe(true);
    expect(argmax(boosted)).toBe(0);
  });
});
