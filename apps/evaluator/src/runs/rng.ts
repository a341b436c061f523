import { createHash } from "node:crypto";

/** A seeded random source (mulberry32): a run's plan is rebuilt exactly from its seed on resume. */
export interface Rng {
  next(): number;
  int(bound: number): number;
  uniform(low: number, high: number): number;
  permutation(n: number): number[];
  sample<A>(items: readonly A[], k: number): A[];
  pick<A>(items: readonly A[]): A;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (bound: number) => Math.floor(next() * bound);
  const permutation = (n: number) => {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  return {
    next,
    int,
    uniform: (low, high) => low + (high - low) * next(),
    permutation,
    sample: (items, k) =>
      permutation(items.length)
        .slice(0, k)
        .map((i) => items[i]!),
    pick: (items) => items[int(items.length)]!,
  };
}

/** A child seed for one (run, node, item) so that every item's randomness is independent and replayable. */
export function deriveSeed(...parts: readonly (string | number)[]): number {
  return createHash("sha256").update(parts.join("\u0000")).digest().readUInt32BE(0);
}

/** Hex SHA-256 of a text: what the evaluator stores instead of prompts and completions. */
export const sha256Hex = (text: string | Uint8Array): string =>
  createHash("sha256").update(text).digest("hex");
