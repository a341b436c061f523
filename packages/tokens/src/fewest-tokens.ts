import type { MergeData } from "./merge-tokenizer.js";

/**
 * The fewest tokens of a SentencePiece vocabulary that spell a text: a count no engine with that
 * vocabulary goes under, however it sampled the text. The family's encoding of the text (the
 * merges) is one way to spell it, often not the shortest: an engine that sampled `▁senza` then
 * `matrix` wrote " senzamatrix" in 2 tokens, which the merges spell in 5. Only this count proves
 * that an answer holds more tokens than the engine was allowed.
 *
 * Each character the vocabulary lacks costs its UTF-8 bytes (the byte tokens an engine spells it
 * with); a lone surrogate costs 1. A space is the vocabulary's `▁`.
 */
export class FewestTokens {
  /** Trie edges: `node * 0x10000 + unit` → child node. */
  readonly #edges = new Map<number, number>();
  /** Whether the path to each node spells a token. */
  readonly #ends: Uint8Array;
  readonly #space: number;

  constructor(data: MergeData, spaceTokenId: number) {
    const space = data.vocabById[spaceTokenId];
    if (space === undefined || space.length !== 1)
      throw new Error("fewest tokens: the space token is not one character");
    this.#space = space.charCodeAt(0);
    const ends: number[] = [0];
    let nodes = 1;
    for (const token of data.vocabById) {
      let node = 0;
      for (let i = 0; i < token.length; i++) {
        const key = node * 0x10000 + token.charCodeAt(i);
        let next = this.#edges.get(key);
        if (next === undefined) {
          next = nodes++;
          this.#edges.set(key, next);
          ends[next] = 0;
        }
        node = next;
      }
      if (node !== 0) ends[node] = 1;
    }
    this.#ends = Uint8Array.from(ends);
  }

  /** The fewest tokens that spell `text` (see {@link FewestTokens}). */
  count(text: string): number {
    const n = text.length;
    if (n === 0) return 0;
    const best = new Int32Array(n + 1).fill(0x7fffffff);
    best[0] = 0;
    for (let i = 0; i < n; i++) {
      const here = best[i]!;
      if (here === 0x7fffffff) continue;
      // The character at `i` in byte tokens: always possible.
      const unit = text.charCodeAt(i);
      const pair = unit >= 0xd800 && unit <= 0xdbff && i + 1 < n && isLow(text.charCodeAt(i + 1));
      const width = pair ? 2 : 1;
      const bytes = pair ? 4 : utf8Bytes(unit);
      if (here + bytes < best[i + width]!) best[i + width] = here + bytes;
      // Every token that starts here.
      let node = 0;
      for (let j = i; j < n; j++) {
        const c = text.charCodeAt(j);
        const next = this.#edges.get(node * 0x10000 + (c === 0x20 ? this.#space : c));
        if (next === undefined) break;
        node = next;
        if (this.#ends[node] === 1 && here + 1 < best[j + 1]!) best[j + 1] = here + 1;
      }
    }
    return best[n]!;
  }
}

const isLow = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/** UTF-8 bytes of one UTF-16 unit that is not half of a pair (a lone surrogate counts 1). */
function utf8Bytes(unit: number): number {
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  if (unit >= 0xd800 && unit <= 0xdfff) return 1;
  return 3;
}
