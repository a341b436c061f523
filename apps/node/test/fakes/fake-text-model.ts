/**
 * The "model" behind the fake engines: whitespace-led word tokens, words drawn from a tiny
 * vocabulary by a seeded generator, and a made-up but stable logprob per (context, token). Enough
 * for adapters to be tested on real shapes; no claim to be a language model.
 */

/**
 * Each word is one token in every tokenizer family a gateway counts exactly (llama-2, mistral), so
 * the fake's own count (a token per word) is the gateway's: a word of two tokens made an answer cut
 * at `max_tokens` read as over the limit to a gateway whose tables for the family were built.
 */
export const FAKE_VOCABULARY = [
  " the",
  " quick",
  " brown",
  " cat",
  " sat",
  " over",
  " lazy",
  " dog",
  " and",
  " runs",
  " far",
];

/** FNV-1a, so the same text always gives the same number. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Mulberry32: small, seedable, good enough for a fake. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits text into tokens that each carry their leading whitespace, as BPE tokenizers tend to. */
export function fakeTokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? [];
}

/** A stable logprob in [-6, -0.05) for `token` after `context`. */
export function fakeLogprob(context: string, token: string): number {
  return -(0.05 + (hashText(`${context}\u0000${token}`) % 5950) / 1000);
}

/** The `n` most likely alternatives after `context`, always including the chosen `token`. */
export function fakeTopLogprobs(context: string, token: string, n: number): Record<string, number> {
  const top: Record<string, number> = { [token]: fakeLogprob(context, token) };
  for (const word of FAKE_VOCABULARY) {
    if (Object.keys(top).length >= Math.max(n, 1)) break;
    top[word] = fakeLogprob(context, word);
  }
  return top;
}

/**
 * `maxTokens` generated tokens. With a seed the same prompt always gives the same words; without
 * one each call differs, as a sampling engine's would, yet a test run repeats the same words: the
 * engine numbers its unseeded calls (`unseededCall`), and its n-th one always draws the same
 * stream, whatever other engines or test files ran before in the same process.
 */
export function fakeGenerate(
  prompt: string,
  maxTokens: number,
  seed: number | undefined,
  unseededCall: number,
): string[] {
  const next = rng(
    seed === undefined ? hashText(`unseeded-${unseededCall}:${prompt}`) : hashText(`${seed}:${prompt}`),
  );
  const tokens: string[] = [];
  for (let i = 0; i < maxTokens; i++)
    tokens.push(FAKE_VOCABULARY[Math.floor(next() * FAKE_VOCABULARY.length)] ?? " the");
  return tokens;
}

/** OpenAI legacy completion logprobs for `tokens` that follow `before` (the first has none when nothing precedes it). */
export function completionLogprobs(
  before: string,
  tokens: readonly string[],
  topN: number,
  startOffset: number,
) {
  const result = {
    tokens: [] as string[],
    token_logprobs: [] as (number | null)[],
    top_logprobs: [] as (Record<string, number> | null)[],
    text_offset: [] as number[],
  };
  let context = before;
  let offset = startOffset;
  for (const token of tokens) {
    const first = context === "";
    result.tokens.push(token);
    result.token_logprobs.push(first ? null : fakeLogprob(context, token));
    result.top_logprobs.push(first ? null : fakeTopLogprobs(context, token, topN));
    result.text_offset.push(offset);
    context += token;
    offset += token.length;
  }
  return result;
}

/** A chat prompt flattened the way a chat template would, for the fake's purposes. */
export function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  return messages
    .map((message) => {
      const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
      return `<${String(role)}>${typeof content === "string" ? content : JSON.stringify(content)}`;
    })
    .join("\n");
}
