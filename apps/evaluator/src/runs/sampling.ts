import type { Rng } from "./rng.js";

/**
 * Sampling parameters for one scored generation, drawn per probe so that evaluator traffic has no
 * fixed fingerprint (a node cannot key on "temperature 0, seed 1234"): a fresh seed, a low
 * temperature (greedy half the time), a `top_p` near 1 and some slack in `max_tokens`. The ranges
 * stay where a competent model's answer does not change, so scores stay comparable.
 */
export function scoredSampling(rng: Rng, maxTokens: number): Record<string, number> {
  const greedy = rng.next() < 0.5;
  return {
    seed: rng.int(2 ** 31),
    temperature: greedy ? 0 : Math.round(rng.uniform(0.05, 0.25) * 100) / 100,
    top_p: Math.round(rng.uniform(0.9, 1) * 100) / 100,
    max_tokens: maxTokens + rng.int(9),
  };
}
