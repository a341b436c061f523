/**
 * How the `quality` knob (0..1) weakens the text model. Each effect imitates a real cause of a
 * weaker language model, so evaluators see graded, not binary, differences:
 * - a shorter context (a lower n-gram order cannot tell "two plus two is" from "one plus two is"),
 * - a smaller training set (it has never read some facts),
 * - weaker memorisation (more probability moved from long contexts to short ones),
 * - a noisier output distribution (probability spread over unrelated tokens).
 * Quality 1 is the plain model trained on the whole corpus.
 */
export interface QualityProfile {
  readonly quality: number;
  /** n-gram order: 7 at full quality, down to 2. */
  readonly order: number;
  /** Share of corpus documents trained on; the subset at a lower quality nests inside a higher one. */
  readonly corpusFraction: number;
  /** Moves each n-gram discount this share of the way toward 1. */
  readonly discountBoost: number;
  /** Weight of the uniform distribution over the vocabulary mixed into every prediction. */
  readonly uniformMix: number;
}

export function qualityProfile(quality: number): QualityProfile {
  if (!(quality >= 0 && quality <= 1)) throw new RangeError(`quality must be within 0..1, got ${quality}`);
  const loss = 1 - quality;
  return {
    quality,
    order: 2 + Math.round(5 * quality),
    corpusFraction: 0.1 + 0.9 * quality ** 1.5,
    discountBoost: 0.6 * loss,
    uniformMix: 0.3 * loss,
  };
}
