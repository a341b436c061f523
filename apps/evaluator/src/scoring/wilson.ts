import type { ScoreEstimate } from "@pocket-ai/protocol";

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * The Wilson score interval for a proportion: `successes` of `n` items scored 0/1. Chosen over the
 * normal ("Wald") interval because it stays inside [0, 1] and keeps its coverage near 0 and 1 and
 * at the small sample counts a per-category score has; chosen over the bootstrap because it is
 * exact arithmetic (reproducible, no resampling noise) and every item score here is 0 or 1.
 * With `n = 0` the interval is the whole [0, 1] and the mean is 0: no evidence, no tier.
 */
export function wilsonInterval(successes: number, n: number, z: number = Z95): ScoreEstimate {
  if (n === 0) return { mean: 0, lower: 0, upper: 1, n: 0 };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return { mean: p, lower: clamp(Math.min(p, centre - half)), upper: clamp(Math.max(p, centre + half)), n };
}

/** Wilson interval of 0/1 item scores (a fractional score counts as that share of a success). */
export function estimate(scores: readonly number[]): ScoreEstimate {
  const successes = scores.reduce((a, b) => a + b, 0);
  return wilsonInterval(successes, scores.length);
}
