import { applyRow, buildCountTable, countOf } from "./count-table.js";
import type { QualityProfile } from "./quality.js";
import { qualityProfile } from "./quality.js";
import type { SamplingOptions } from "./sampling.js";
import { sampleToken } from "./sampling.js";

export interface TokenLogprob {
  readonly token: number;
  readonly logprob: number;
}

export interface NgramModel {
  readonly order: number;
  readonly vocabSize: number;
  readonly eosToken: number;
  readonly trainingTokens: number;
  readonly profile: QualityProfile;
  /** Natural-log probability of `next` after `context` (only its last `order - 1` tokens matter). */
  logprob(context: readonly number[], next: number): number;
  /** The full next-token distribution; sums to 1 over the vocabulary. */
  distribution(context: readonly number[]): Float64Array;
  topLogprobs(context: readonly number[], k: number): TokenLogprob[];
  sample(context: readonly number[], options: SamplingOptions): number;
}

/**
 * Trains an interpolated Kneser–Ney n-gram model of `profile.order`. The unigram level is
 * interpolated with the uniform distribution over the whole vocabulary (byte tokens never seen
 * in training included), so every token has positive probability and each prediction sums to
 * one. Documents are padded in front with end-of-sequence tokens, which double as
 * beginning-of-sequence, and end with one, so the model learns where text ends.
 */
export function trainNgramModel(
  documents: readonly (readonly number[])[],
  vocabSize: number,
  eosToken: number,
  profile: QualityProfile = qualityProfile(1),
): NgramModel {
  const V = vocabSize;
  const N = profile.order;
  const children = new Map<number, number>();
  const parent: number[] = [-1];
  const depth: number[] = [0];
  const child = (node: number, token: number): number => {
    const key = node * V + token;
    let found = children.get(key);
    if (found === undefined) {
      found = parent.length;
      parent.push(node);
      depth.push(depth[node]! + 1);
      children.set(key, found);
    }
    return found;
  };

  // levels[n] maps (context node of n - 1 tokens) * V + next token to a count.
  const levels: Map<number, number>[] = Array.from({ length: N + 1 }, () => new Map());
  const top = levels[N]!;
  let trainingTokens = 0;
  for (const doc of documents) {
    const seq = [...Array<number>(N - 1).fill(eosToken), ...doc, eosToken];
    trainingTokens += doc.length;
    for (let i = N - 1; i < seq.length; i++) {
      let node = 0;
      for (let k = 1; k < N; k++) node = child(node, seq[i - k]!);
      const key = node * V + seq[i]!;
      top.set(key, (top.get(key) ?? 0) + 1);
    }
  }
  // Kneser–Ney: a lower order counts the distinct tokens seen before an n-gram, not its
  // occurrences, because it only speaks when the longer context was not seen.
  for (let n = N - 1; n >= 1; n--) {
    const level = levels[n]!;
    for (const key of levels[n + 1]!.keys()) {
      const suffix = parent[Math.floor(key / V)]! * V + (key % V);
      level.set(suffix, (level.get(suffix) ?? 0) + 1);
    }
  }

  const discounts = levels.map((level) => {
    const d = estimateDiscount(level.values());
    return d + (1 - d) * profile.discountBoost;
  });
  const table = buildCountTable(levels, parent.length, V);

  const unigram = new Float64Array(V);
  const d1 = discounts[1]!;
  let n1 = 0;
  for (const c of levels[1]!.values()) n1 += c;
  const t1 = levels[1]!.size;
  unigram.fill(n1 === 0 ? 1 / V : (d1 * t1) / n1 / V);
  for (const [w, c] of levels[1]!) unigram[w]! += Math.max(c - d1, 0) / n1;

  const eps = profile.uniformMix;
  /** Context nodes for the end of `context`, one token long first; unseen longer ones stop the list. */
  const nodesFor = (context: readonly number[]): number[] => {
    const nodes: number[] = [];
    let node = 0;
    for (let k = 1; k < N; k++) {
      const token = k <= context.length ? context[context.length - k]! : eosToken;
      const next = children.get(node * V + token);
      if (next === undefined) break;
      node = next;
      nodes.push(node);
    }
    return nodes;
  };

  const prob = (context: readonly number[], next: number): number => {
    if (!(Number.isInteger(next) && next >= 0 && next < V)) {
      throw new RangeError(`token ${next} is outside the vocabulary`);
    }
    let p = unigram[next]!;
    for (const node of nodesFor(context)) {
      const d = discounts[depth[node]! + 1]!;
      p = (Math.max(countOf(table, node, next) - d, 0) + d * table.types[node]! * p) / table.total[node]!;
    }
    return (1 - eps) * p + eps / V;
  };

  const distribution = (context: readonly number[]): Float64Array => {
    const out = unigram.slice();
    for (const node of nodesFor(context)) applyRow(out, table, node, discounts[depth[node]! + 1]!);
    if (eps > 0) for (let w = 0; w < V; w++) out[w] = (1 - eps) * out[w]! + eps / V;
    return out;
  };

  return {
    order: N,
    vocabSize: V,
    eosToken,
    trainingTokens,
    profile,
    logprob: (context, next) => Math.log(prob(context, next)),
    distribution,
    topLogprobs: (context, k) => topK(distribution(context), k),
    sample: (context, options) => sampleToken(distribution(context), options),
  };
}

/**
 * Ney's estimate D = n1 / (n1 + 2 n2) from how many n-grams occur once and twice, capped: on a
 * small corpus nearly every long n-gram is a singleton, and an uncapped D would make the model
 * ignore its longer contexts.
 */
function estimateDiscount(values: Iterable<number>): number {
  let once = 0;
  let twice = 0;
  for (const c of values) {
    if (c === 1) once++;
    else if (c === 2) twice++;
  }
  if (once + twice === 0) return 0.5;
  return Math.min(0.5, Math.max(0.1, once / (once + 2 * twice)));
}

/** The k most probable tokens, most probable first, lowest id first on ties. */
export function topK(probs: Float64Array, k: number): TokenLogprob[] {
  const tokens: number[] = [];
  const kept: number[] = [];
  if (k <= 0) return [];
  for (let token = 0; token < probs.length; token++) {
    const p = probs[token]!;
    if (kept.length === k && p <= kept[k - 1]!) continue;
    let at = kept.length;
    while (at > 0 && kept[at - 1]! < p) at--;
    kept.splice(at, 0, p);
    tokens.splice(at, 0, token);
    if (kept.length > k) {
      kept.pop();
      tokens.pop();
    }
  }
  return tokens.map((token, i) => ({ token, logprob: Math.log(kept[i]!) }));
}
