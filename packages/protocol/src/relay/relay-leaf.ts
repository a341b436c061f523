import { hexToBytes, isHex, sha256 } from "../encoding/index.js";

const LEAF_DOMAIN = new TextEncoder().encode("pocket-ai/relay-leaf/v1");

/**
 * The identity of one served relay in a node's claim tree (the Merkle sum tree of a session):
 * SHA-256(`"pocket-ai/relay-leaf/v1"` ‖ request hash ‖ second hash), 32 bytes. The second hash is
 * the response hash ({@link relayResponseHash}) for a non-streamed relay, and the `chain` of the
 * final chunk for a streamed one (which commits to every chunk in order). Both sides are signed
 * digests, so the leaf binds the gateway's request to the node's answer; the domain prefix keeps a
 * leaf from ever equalling any other hash in the protocol. The leaf's weight (compute units) sits
 * beside it in the sum tree. Takes hex (either case) or bytes; throws a `TypeError` unless both
 * are 32 bytes.
 *
 * @example
 * ```ts
 * const leaf = relayLeafHash(requestHash, responseHash);
 * leaf.length; // 32
 * ```
 */
export function relayLeafHash(
  requestHash: string | Uint8Array,
  responseHashOrFinalChain: string | Uint8Array,
): Uint8Array {
  const request = digestBytes(requestHash, "requestHash");
  const answer = digestBytes(responseHashOrFinalChain, "responseHashOrFinalChain");
  const joined = new Uint8Array(LEAF_DOMAIN.length + 64);
  joined.set(LEAF_DOMAIN, 0);
  joined.set(request, LEAF_DOMAIN.length);
  joined.set(answer, LEAF_DOMAIN.length + 32);
  return sha256(joined);
}

function digestBytes(value: string | Uint8Array, name: string): Uint8Array {
  if (value instanceof Uint8Array && value.length === 32) return value;
  if (typeof value === "string" && isHex(value, 32)) return hexToBytes(value);
  throw new TypeError(`relayLeafHash: ${name} must be 32 bytes (64 hex digits)`);
}
