import { z } from "zod";
import { PoktAddress, SignatureHex, signDigest } from "../crypto/index.js";
import { sha256HexAfterCanonical } from "../encoding/hash.js";
import { bytesToHex, canonicalHash, isHex } from "../encoding/index.js";
import {
  RelayDigestHex,
  RelayErrorBody,
  RelayJsonPayload,
  RelayOutcome,
  RelayUsage,
} from "./envelope-fields.js";
import { invalidFieldsError, type RelaySigningKey, signingKeyPair } from "./signing-key.js";

/**
 * The trailer of a stream's last chunk: the outcome and the work the node claims for the whole
 * relay (as in a non-streamed response). A chunk with `final` ends the stream.
 *
 * @example
 * ```ts
 * RelayStreamFinal.parse({ outcome: "ok", usage: { inputTokens: 9, outputTokens: 120 }, computeUnits: 129 });
 * ```
 */
export const RelayStreamFinal = z
  .strictObject({
    usage: RelayUsage,
    computeUnits: z.int().nonnegative(),
    outcome: RelayOutcome,
    error: RelayErrorBody.optional(),
  })
  .refine((f) => (f.outcome === "error") === (f.error !== undefined), {
    message: "error is required when outcome is error and not allowed when it is ok",
    path: ["error"],
  });

/** A parsed {@link RelayStreamFinal}. */
export type RelayStreamFinal = z.infer<typeof RelayStreamFinal>;

const chunkShape = {
  v: z.literal(1),
  requestHash: RelayDigestHex,
  seq: z.int().nonnegative(),
  data: RelayJsonPayload,
  chain: RelayDigestHex,
  final: RelayStreamFinal.optional(),
  node: PoktAddress,
};

/**
 * A stream chunk before signing: everything the node's signature covers.
 *
 * @example
 * ```ts
 * UnsignedRelayStreamChunk.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedRelayStreamChunk = z.strictObject(chunkShape);

const { data: _data, ...shapeWithoutData } = chunkShape;

/**
 * The fields of a chunk but `data`, which the hot path checks by encoding it canonically (once:
 * the same encoding feeds the chain and the signature). Internal to the package.
 */
export const UnsignedChunkWithoutData = z.strictObject(shapeWithoutData);

/** A parsed {@link UnsignedRelayStreamChunk}. */
export type UnsignedRelayStreamChunk = z.infer<typeof UnsignedRelayStreamChunk>;

/**
 * One chunk of a streamed relay, node → gateway. `data` is one OpenAI SSE chunk object (the
 * `[DONE]` sentinel is not a chunk: the gateway writes it after a verified final chunk). `seq`
 * counts from 0. `chain` = SHA-256(previous chain bytes ‖ canonical bytes of `data`), where the
 * previous chain of chunk 0 is the request hash, so any chunk's chain commits to every chunk up to
 * it, in order.
 *
 * A chunk that carries `signature` (compact secp256k1, hex, over the canonical JSON of the other
 * fields) is a signed **head**: it vouches for itself and, through `chain`, for every chunk before
 * it. The node need not sign every chunk — a head every few chunks or milliseconds is enough — but
 * the first chunk should be signed and the final chunk (`final`) must be. An unsigned chunk is
 * checked for order and chain as it arrives, and becomes the node's word only when a later head
 * covers it: a stream broken before the next head is paid only up to the last head.
 *
 * @example
 * ```ts
 * const parsed = RelayStreamChunk.safeParse(JSON.parse(line));
 * const isHead = parsed.success && parsed.data.signature !== undefined;
 * ```
 */
export const RelayStreamChunk = z.strictObject({ ...chunkShape, signature: SignatureHex.optional() });

/** A parsed {@link RelayStreamChunk}. */
export type RelayStreamChunk = z.infer<typeof RelayStreamChunk>;

/**
 * The chain value after `data`: SHA-256(`prevChain` bytes ‖ canonical bytes of `data`), as hex.
 * For chunk 0, `prevChain` is the request hash. Throws a `TypeError` when `prevChain` is not 64
 * hex digits or `data` is not canonical JSON.
 *
 * @example
 * ```ts
 * const chain0 = relayStreamChain(requestHash, firstSseChunk);
 * const chain1 = relayStreamChain(chain0, secondSseChunk);
 * ```
 */
export function relayStreamChain(prevChain: string, data: unknown): string {
  if (typeof prevChain !== "string" || !isHex(prevChain, 32)) {
    throw new TypeError("relayStreamChain: prevChain must be 64 hex digits");
  }
  // The data's canonical bytes are hashed where they are written, never built as a string.
  return sha256HexAfterCanonical(prevChain, data);
}

/**
 * What {@link createRelayStreamChunk} needs: the relay, the position, the SSE chunk, the chain of
 * the previous chunk (the request hash for `seq` 0) and, on the last chunk, the trailer.
 *
 * @example
 * ```ts
 * const fields: RelayStreamChunkFields = { requestHash, seq: 0, data, prevChain: requestHash };
 * ```
 */
export interface RelayStreamChunkFields {
  readonly requestHash: string;
  readonly seq: number;
  readonly data: unknown;
  readonly prevChain: string;
  readonly final?: RelayStreamFinal;
}

/**
 * Builds one stream chunk without keeping state (see `RelayStreamSigner` for the stateful
 * helper), signed unless `options.sign` is false (a final chunk is always signed). Throws a
 * `TypeError` naming the field when the fields are invalid.
 *
 * @example
 * ```ts
 * const first = createRelayStreamChunk({ requestHash, seq: 0, data: sse0, prevChain: requestHash }, nodeKeyPair);
 * const second = createRelayStreamChunk({ requestHash, seq: 1, data: sse1, prevChain: first.chain }, nodeKeyPair, { sign: false });
 * ```
 */
export function createRelayStreamChunk(
  fields: RelayStreamChunkFields,
  nodeKey: RelaySigningKey,
  options: { readonly sign?: boolean } = {},
): RelayStreamChunk {
  const key = signingKeyPair(nodeKey);
  if (typeof fields.prevChain !== "string" || !isHex(fields.prevChain, 32)) {
    throw new TypeError("createRelayStreamChunk: prevChain must be 64 hex digits");
  }
  if (fields.data === undefined) {
    throw new TypeError("createRelayStreamChunk: data is not a canonical JSON value");
  }
  let chain: string;
  try {
    chain = sha256HexAfterCanonical(fields.prevChain, fields.data);
  } catch {
    throw new TypeError("createRelayStreamChunk: data is not a canonical JSON value");
  }
  const parsed = UnsignedChunkWithoutData.safeParse({
    v: 1,
    requestHash: fields.requestHash,
    seq: fields.seq,
    chain,
    ...(fields.final === undefined ? {} : { final: fields.final }),
    node: key.address,
  });
  if (!parsed.success) throw invalidFieldsError("createRelayStreamChunk", parsed.error.issues);
  const { v, requestHash, seq, final, node } = parsed.data;
  const unsigned: UnsignedRelayStreamChunk = {
    v,
    requestHash,
    seq,
    data: fields.data,
    chain,
    ...(final === undefined ? {} : { final }),
    node,
  };
  if (options.sign === false && final === undefined) return unsigned;
  const signature = bytesToHex(signDigest(canonicalHash(unsigned), key.privateKey));
  return { ...unsigned, signature };
}
