import { z } from "zod";

const embeddingText = z.string().min(1, "input must not be an empty string");

/**
 * `/v1/embeddings` request: `input` is one string or a batch of strings, none of them empty (as
 * OpenAI: an empty text has no vector); token arrays are not taken: a relay is priced and limited
 * by text. `encoding_format` is how the client wants the
 * vectors (`float` arrays or `base64` of little-endian float32, OpenAI's two); `dimensions` asks
 * for shorter vectors, which a tier offers only at its own length.
 *
 * @example
 * ```ts
 * EmbeddingRequest.parse({ model: "nomic-embed-text", input: ["a cat", "a dog"], encoding_format: "base64" });
 * ```
 */
export const EmbeddingRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([embeddingText, z.array(embeddingText).min(1)], {
    error: "input must be a string or a non-empty array of strings",
  }),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().nullish(),
});

/** A parsed {@link EmbeddingRequest}. */
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

/**
 * The inputs of an embeddings request as a list (one string is a batch of one).
 *
 * @example
 * ```ts
 * embeddingInputs({ input: "hi" }); // ["hi"]
 * ```
 */
export function embeddingInputs(request: Pick<EmbeddingRequest, "input">): readonly string[] {
  return typeof request.input === "string" ? [request.input] : request.input;
}

/**
 * `/v1/embeddings` answer. On the relay (node to gateway) every `embedding` is base64 of the
 * vector's little-endian float32 bytes — exact bytes under the node's signature; the gateway
 * decodes them to numbers when the client asked for `float`.
 *
 * @example
 * ```ts
 * EmbeddingResponse.parse({
 *   object: "list", model: "m", data: [{ object: "embedding", index: 0, embedding: "AACAPw==" }],
 *   usage: { prompt_tokens: 2, total_tokens: 2 },
 * });
 * ```
 */
export const EmbeddingResponse = z.looseObject({
  object: z.literal("list"),
  model: z.string(),
  data: z.array(
    z.looseObject({
      object: z.literal("embedding"),
      index: z.number().int().nonnegative(),
      embedding: z.union([z.string(), z.array(z.number())]),
    }),
  ),
  usage: z.looseObject({
    prompt_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative(),
  }),
});

/** A parsed {@link EmbeddingResponse}. */
export type EmbeddingResponse = z.infer<typeof EmbeddingResponse>;

/**
 * A vector as base64 of its little-endian float32 bytes (OpenAI's `encoding_format: "base64"`).
 *
 * @example
 * ```ts
 * packEmbedding([1]); // "AACAPw=="
 * ```
 */
export function packEmbedding(vector: readonly number[]): string {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [i, value] of vector.entries()) view.setFloat32(i * 4, value, true);
  return bytesToBase64(bytes);
}

/**
 * The numbers of a base64 float32 vector; `undefined` when the text is not whole float32s or holds
 * a value that is not finite.
 *
 * @example
 * ```ts
 * unpackEmbedding("AACAPw=="); // [1]
 * ```
 */
export function unpackEmbedding(packed: string): number[] | undefined {
  const bytes = base64ToBytes(packed);
  if (bytes === undefined || bytes.length % 4 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    const value = view.getFloat32(i, true);
    if (!Number.isFinite(value)) return undefined;
    out.push(value);
  }
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
