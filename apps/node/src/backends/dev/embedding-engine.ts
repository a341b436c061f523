import { createHash } from "node:crypto";

/** Words of a text, lowercased, split on anything that is not a letter or a digit. */
const wordsOf = (text: string) =>
  text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "");

/** The features of a text: its words and the character trigrams of each word (with boundaries). */
function features(text: string): string[] {
  const out: string[] = [];
  for (const word of wordsOf(text)) {
    out.push(`w:${word}`);
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) out.push(`c:${padded.slice(i, i + 3)}`);
  }
  return out;
}

/**
 * The development backend's embedding: a hashed bag of words and character trigrams, each
 * feature added with a hashed sign to one of `dimensions` slots, normalised to unit length.
 * Deterministic, and real enough for tests of search: texts that share words or word pieces have
 * a higher cosine similarity than texts that share none. An empty text is the zero vector.
 */
export function devEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const feature of features(text)) {
    const digest = createHash("sha256").update(feature).digest();
    const slot = digest.readUInt32LE(0) % dimensions;
    const sign = (digest[4] ?? 0) & 1 ? 1 : -1;
    vector[slot] = (vector[slot] ?? 0) + sign * (feature.startsWith("w:") ? 2 : 1);
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

/** Tokens the development backend counts for an embedding input: its words. */
export const devEmbeddingTokens = (text: string) => wordsOf(text).length;

/**
 * An OpenAI `/v1/embeddings` answer (float vectors) from the development backend, for `input`
 * (a list of strings) at the `dimensions` the node's tier declares.
 */
export function devEmbeddings(body: Record<string, unknown>): Record<string, unknown> {
  const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 768;
  const tokens = inputs.reduce((sum, text) => sum + devEmbeddingTokens(text), 0);
  return {
    object: "list",
    model: typeof body.model === "string" ? body.model : "dev-embedding",
    data: inputs.map((text, index) => ({
      object: "embedding",
      index,
      embedding: devEmbedding(text, dimensions),
    })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
