import type { Rng } from "./rng.js";

export interface SamplingOptions {
  /** 0 picks the most probable token (lowest id on ties); higher flattens the distribution. */
  readonly temperature: number;
  /** Nucleus: keep the most probable tokens whose mass reaches `topP` (1 keeps all). */
  readonly topP: number;
  /** Keep only the `topK` most probable tokens (0 keeps all). */
  readonly topK: number;
  readonly rng: Rng;
  /** A token that must not be drawn, e.g. end-of-sequence when the caller ignores it. */
  readonly banned?: number | undefined;
}

/** Draws a token from `probs` (left untouched) after temperature, top-k and top-p. */
export function sampleToken(probs: Float64Array, options: SamplingOptions): number {
  const { temperature, topP, topK, rng, banned } = options;
  const size = probs.length;
  if (temperature === 0) return argmax(probs, banned);

  let max = 0;
  for (let i = 0; i < size; i++) if (i !== banned && probs[i]! > max) max = probs[i]!;
  if (max === 0) throw new RangeError("no token has positive probability");
  // Scale by the maximum first so that a tiny temperature does not underflow every weight.
  const weights = new Float64Array(size);
  const logMax = Math.log(max);
  let total = 0;
  for (let i = 0; i < size; i++) {
    const p = probs[i]!;
    if (i === banned || p <= 0) continue;
    const w = Math.exp((Math.log(p) - logMax) / temperature);
    weights[i] = w;
    total += w;
  }

  let cutoff = 0;
  if (topK > 0 && topK < size) {
    const sorted = weights.slice().sort().reverse();
    cutoff = Math.max(cutoff, sorted[topK - 1]!);
  }
  if (topP < 1) cutoff = Math.max(cutoff, nucleusCutoff(weights, total, topP, cutoff));

  let kept = 0;
  for (let i = 0; i < size; i++) if (weights[i]! >= cutoff) kept += weights[i]!;
  let r = rng.next() * kept;
  let last = -1;
  for (let i = 0; i < size; i++) {
    const w = weights[i]!;
    if (w === 0 || w < cutoff) continue;
    last = i;
    r -= w;
    if (r < 0) return i;
  }
  return last;
}

/**
 * The smallest weight still inside the nucleus. Tokens lighter than (1 - topP) * total / size
 * weigh less than (1 - topP) together, so the nucleus lies among the heavier ones: only those
 * are sorted, which keeps sampling cheap on a vocabulary of thousands. After top-k (`floor`),
 * the nucleus is taken within the top-k set, as vLLM does.
 */
function nucleusCutoff(weights: Float64Array, total: number, topP: number, floor: number): number {
  const light = floor > 0 ? floor : ((1 - topP) * total) / weights.length;
  const heavy: number[] = [];
  let heavyTotal = 0;
  for (const w of weights) {
    if (w > 0 && w >= light) {
      heavy.push(w);
      heavyTotal += w;
    }
  }
  heavy.sort((a, b) => b - a);
  const target = topP * (floor > 0 ? heavyTotal : total);
  let mass = 0;
  for (const w of heavy) {
    mass += w;
    if (mass >= target) return w;
  }
  return heavy[heavy.length - 1] ?? floor;
}

/**
 * OpenAI's presence and frequency penalties: each token's logit lowered by `frequency` per time
 * it was generated and by `presence` once if it was (vLLM's rule; prompt tokens do not count). A
 * new distribution, scaled so that its largest weight is 1 (a negative penalty on a long answer
 * would overflow `exp` otherwise); `probs` itself is left as it was, for logprobs. Without
 * penalties, or before any token was generated, `probs` is returned as it is.
 */
export function penalize(
  probs: Float64Array,
  generated: ReadonlyMap<number, number>,
  presence: number,
  frequency: number,
): Float64Array {
  if ((presence === 0 && frequency === 0) || generated.size === 0) return probs;
  const logits = new Float64Array(probs.length);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < probs.length; i++) {
    const count = generated.get(i) ?? 0;
    const logit = Math.log(probs[i]!) - (count > 0 ? frequency * count + presence : 0);
    logits[i] = logit;
    if (logit > max) max = logit;
  }
  for (let i = 0; i < logits.length; i++) logits[i] = Math.exp(logits[i]! - max);
  return logits;
}

/** Counts a generated token, for {@link penalize}. */
export function countToken(generated: Map<number, number>, token: number): void {
  generated.set(token, (generated.get(token) ?? 0) + 1);
}

export function argmax(probs: Float64Array, banned?: number): number {
  let best = -1;
  let bestP = -1;
  for (let i = 0; i < probs.length; i++) {
    if (i !== banned && probs[i]! > bestP) {
      best = i;
      bestP = probs[i]!;
    }
  }
  return best;
}
