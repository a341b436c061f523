import { preparedPublicKey } from "../crypto/public-key-cache.js";
import { sha256HexAfterCanonical } from "../encoding/hash.js";
import { canonicalHash, isCanonicalJson, isHex } from "../encoding/index.js";
import { HEX_64, HEX_128 } from "../encoding/plain-values.js";
import { fail, ok, type Result } from "../errors/index.js";
import { checkEnvelopeDigestSignature, parseEnvelope } from "./envelope-verification.js";
import { RelayStreamChunk, RelayStreamFinal } from "./relay-stream-chunk.js";

/**
 * What the verifier of one chunk knows: the node's compressed public key (hex), the relay's
 * request hash, the position it expects next and the previous chunk's chain (the request hash for
 * `seq` 0).
 *
 * @example
 * ```ts
 * const expect: RelayStreamChunkExpectations = { publicKey, requestHash, expectedSeq: 0, prevChain: requestHash };
 * ```
 */
export interface RelayStreamChunkExpectations {
  readonly publicKey: string;
  readonly requestHash: string;
  readonly expectedSeq: number;
  readonly prevChain: string;
}

/**
 * Verifies one untrusted stream chunk against what the verifier expects. Refusals:
 * MALFORMED_ENVELOPE (schema; or a validly signed chunk of another relay — `param` `requestHash` —,
 * out of order or after a dropped chunk — `param` `seq` —, or spliced from another stream — `param`
 * `chain`; or a final chunk without a signature — `param` `signature`), ADDRESS_MISMATCH (`node` is
 * not the address of `expect.publicKey`), INVALID_SIGNATURE. A chunk without a signature (not a
 * head) is checked for everything but the signature: it is the node's word only once a later
 * signed head covers it (see {@link RelayStreamVerifier}). Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyRelayStreamChunk(JSON.parse(line), { publicKey, requestHash, expectedSeq: 0, prevChain: requestHash });
 * if (checked.ok) forward(checked.value.chunk.data);
 * ```
 */
export function verifyRelayStreamChunk(
  input: unknown,
  expect: RelayStreamChunkExpectations,
): Result<{ chunk: RelayStreamChunk }> {
  const parsed = parseChunk(input, preparedPublicKey(expect.publicKey)?.address, expect.prevChain);
  if (!parsed.ok) return parsed;
  const { chunk, chain } = parsed.value;
  const { signature, ...unsigned } = chunk;
  const addressMismatch = () =>
    fail("ADDRESS_MISMATCH", "stream chunk: node is not the address of the expected public key", "node");
  if (signature === undefined) {
    // Not a head: only the order and the chain are checked now; a later head vouches for it.
    if (chunk.final !== undefined) {
      return fail("MALFORMED_ENVELOPE", "stream chunk: the final chunk must be signed", "signature");
    }
    if (preparedPublicKey(expect.publicKey)?.address !== chunk.node) return addressMismatch();
  } else {
    const checked = checkEnvelopeDigestSignature(
      () => canonicalHash(unsigned),
      signature,
      { address: chunk.node, publicKey: expect.publicKey, field: "node" },
      "stream chunk",
    );
    if (!checked.ok) return checked.error.code === "ADDRESS_MISMATCH" ? addressMismatch() : checked;
  }
  if (chunk.requestHash !== expect.requestHash) {
    return fail("MALFORMED_ENVELOPE", `stream chunk belongs to request ${chunk.requestHash}`, "requestHash");
  }
  if (chunk.seq !== expect.expectedSeq) {
    return fail(
      "MALFORMED_ENVELOPE",
      `stream chunk has seq ${chunk.seq}, expected ${expect.expectedSeq} (reordered or dropped chunk)`,
      "seq",
    );
  }
  if (chain === undefined) {
    return fail(
      "MALFORMED_ENVELOPE",
      "stream chunk: the expected previous chain is not 64 hex digits",
      "chain",
    );
  }
  if (chunk.chain !== chain) {
    return fail(
      "MALFORMED_ENVELOPE",
      "stream chunk does not extend the previous chunk's chain (spliced)",
      "chain",
    );
  }
  return ok({ chunk });
}

const CHUNK_KEYS: ReadonlySet<string> = new Set([
  "v",
  "requestHash",
  "seq",
  "data",
  "chain",
  "final",
  "node",
  "signature",
]);

/**
 * The hot path's parse of a well-formed chunk from the expected node, without the schema library:
 * the same rules as {@link RelayStreamChunk} (a `node` equal to the expected address is a valid
 * address by construction). Undefined for anything else, which the full schema then explains.
 */
function fastChunk(input: unknown, expectedAddress: string | undefined): RelayStreamChunk | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  const fields = input as Record<string, unknown>;
  for (const key in fields) if (!CHUNK_KEYS.has(key)) return undefined;
  const { v, requestHash, seq, data, chain, final, node, signature } = fields;
  if (
    v !== 1 ||
    expectedAddress === undefined ||
    node !== expectedAddress ||
    typeof requestHash !== "string" ||
    !HEX_64.test(requestHash) ||
    typeof seq !== "number" ||
    !Number.isSafeInteger(seq) ||
    seq < 0 ||
    data === undefined ||
    typeof chain !== "string" ||
    !HEX_64.test(chain) ||
    (signature !== undefined && (typeof signature !== "string" || !HEX_128.test(signature)))
  ) {
    return undefined;
  }
  let trailer: RelayStreamFinal | undefined;
  if (final !== undefined) {
    const checked = RelayStreamFinal.safeParse(final);
    if (!checked.success) return undefined;
    trailer = checked.data;
  }
  return {
    v,
    requestHash,
    seq,
    data,
    chain,
    ...(trailer === undefined ? {} : { final: trailer }),
    node,
    ...(signature === undefined ? {} : { signature }),
  };
}

/**
 * The chain after `data` (see `relayStreamChain`), or `undefined` when the expected previous chain is
 * not 64 hex digits (the data is still checked). Throws when `data` is not canonical JSON.
 */
function chainAfter(prevChain: unknown, data: unknown): string | undefined {
  if (typeof prevChain === "string" && isHex(prevChain, 32)) return sha256HexAfterCanonical(prevChain, data);
  if (!isCanonicalJson(data)) throw new TypeError("stream chunk: data is not canonical JSON");
  return undefined;
}

/**
 * Parses a chunk and hashes its data into the chain, encoding it once (as bytes, no string). The
 * fast path checks every field but `data` by hand ({@link fastChunk}) and `data` by encoding it;
 * anything it refuses goes through the full schema, so errors read exactly as
 * {@link RelayStreamChunk}'s.
 */
function parseChunk(
  input: unknown,
  expectedAddress: string | undefined,
  prevChain: unknown,
): Result<{ chunk: RelayStreamChunk; chain: string | undefined }> {
  try {
    const chunk = fastChunk(input, expectedAddress);
    if (chunk !== undefined) return ok({ chunk, chain: chainAfter(prevChain, chunk.data) });
  } catch {
    // Refused or unreadable: the full schema below says why.
  }
  const parsed = parseEnvelope(RelayStreamChunk, input, "stream chunk");
  if (!parsed.ok) return parsed;
  try {
    return ok({ chunk: parsed.value, chain: chainAfter(prevChain, parsed.value.data) });
  } catch {
    return fail("MALFORMED_ENVELOPE", "stream chunk: data: not encodable as canonical JSON", "data");
  }
}
