import { wtf8Decode, wtf8Encode } from "./wtf8.js";

/**
 * Splits text into pieces: words and numbers with at most one leading space (" the", " 42"),
 * single punctuation marks (also with an optional leading space), and single whitespace
 * characters. The last alternative catches anything else, so pieces always cover the input.
 */
const PIECE = / ?[\p{L}\p{M}]+(?:['’][\p{L}\p{M}]+)*| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]|\s|[\s\S]/gu;

export const EOS_TOKEN = 0;
export const EOS_TEXT = "<|endoftext|>";
/** Ids 1..256 are the bytes 0x00..0xff; corpus pieces follow. */
const FIRST_BYTE_TOKEN = 1;
const FIRST_PIECE_TOKEN = FIRST_BYTE_TOKEN + 256;
const PIECE_CACHE_LIMIT = 50_000;

export function pretokenize(text: string): string[] {
  return text.match(PIECE) ?? [];
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly eosToken: number;
  encode(text: string): number[];
  decode(tokens: readonly number[]): string;
  /** UTF-8 bytes a token stands for (empty for end-of-sequence). */
  tokenBytes(token: number): Uint8Array;
  /**
   * A printable name for a token, as in OpenAI logprobs: its text, `<|endoftext|>`, or
   * `bytes:\xNN` for a byte that is only part of a character.
   */
  tokenName(token: number): string;
}

/**
 * Builds the vocabulary from a corpus: the end-of-sequence token, 256 byte tokens (so any input
 * encodes), then every distinct corpus piece by descending frequency, ties in code-unit order.
 * Ids depend only on the corpus text, so every node serving one corpus shares token ids.
 */
export function buildTokenizer(corpus: string): Tokenizer {
  const counts = new Map<string, number>();
  for (const piece of pretokenize(corpus)) counts.set(piece, (counts.get(piece) ?? 0) + 1);

  const ids = new Map<string, number>();
  for (let b = 0; b < 0x80; b++) ids.set(String.fromCharCode(b), FIRST_BYTE_TOKEN + b);
  const pieces = [...counts]
    .filter(([piece]) => !ids.has(piece))
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .map(([piece]) => piece);
  const texts: string[] = [];
  const bytes: Uint8Array[] = [new Uint8Array(0)];
  for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
  let maxPieceLength = 1;
  for (const piece of pieces) {
    ids.set(piece, FIRST_PIECE_TOKEN + texts.length);
    texts.push(piece);
    bytes.push(wtf8Encode(piece));
    maxPieceLength = Math.max(maxPieceLength, piece.length);
  }
  const vocabSize = FIRST_PIECE_TOKEN + texts.length;

  const cache = new Map<string, number[]>();
  // Greedy longest match against the vocabulary; a character no piece covers falls back to bytes.
  const encodePiece = (piece: string): number[] => {
    const known = ids.get(piece);
    if (known !== undefined) return [known];
    const cached = cache.get(piece);
    if (cached) return cached;
    const out: number[] = [];
    let at = 0;
    while (at < piece.length) {
      let matched = 0;
      for (let len = Math.min(maxPieceLength, piece.length - at); len >= 1; len--) {
        const id = ids.get(piece.slice(at, at + len));
        if (id !== undefined) {
          out.push(id);
          matched = len;
          break;
        }
      }
      if (matched === 0) {
        const width = (piece.codePointAt(at) ?? 0) > 0xffff ? 2 : 1;
        for (const b of wtf8Encode(piece.slice(at, at + width))) out.push(FIRST_BYTE_TOKEN + b);
        matched = width;
      }
      at += matched;
    }
    if (cache.size >= PIECE_CACHE_LIMIT) cache.clear();
    cache.set(piece, out);
    return out;
  };

  const tokenBytes = (token: number): Uint8Array => {
    const found = bytes[token];
    if (found === undefined) throw new RangeError(`unknown token id ${token}`);
    return found;
  };

  return {
    vocabSize,
    eosToken: EOS_TOKEN,
    encode: (text) => pretokenize(text).flatMap(encodePiece),
    decode: (tokens) => {
      const parts = tokens.map(tokenBytes);
      const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const part of parts) {
        joined.set(part, offset);
        offset += part.length;
      }
      return wtf8Decode(joined).text;
    },
    tokenBytes,
    tokenName: (token) => {
      if (token === EOS_TOKEN) return EOS_TEXT;
      if (token >= FIRST_PIECE_TOKEN) return texts[token - FIRST_PIECE_TOKEN] ?? String(tokenBytes(token));
      const b = token - FIRST_BYTE_TOKEN;
      if (b < 0 || b > 255) throw new RangeError(`unknown token id ${token}`);
      return b < 0x80 ? String.fromCharCode(b) : `bytes:\\x${b.toString(16).padStart(2, "0")}`;
    },
  };
}
