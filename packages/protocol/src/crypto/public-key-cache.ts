/**
 * What verification derives from a signer's public key, derived once per key: the bytes, the
 * uncompressed point (which secp256k1 verifies without a square root) and the `pokt1…` address.
 * A gateway checks every chunk of a stream against the same node key, so before this cache each
 * chunk re-parsed the hex, re-decompressed the point and re-hashed the address.
 */
import { ripemd160 } from "@noble/hashes/legacy.js";
import { bech32 } from "@scure/base";
import { hexToBytes, isHex, sha256 } from "../encoding/index.js";
import { secp256k1 } from "./secp256k1-backend.js";

/** A compressed public key with what verification needs from it. */
export interface PreparedPublicKey {
  /** The 33 compressed bytes. */
  readonly compressed: Uint8Array;
  /** The 65-byte uncompressed point, or null when the bytes are not a point on the curve. */
  readonly point: Uint8Array | null;
  /** The `pokt1…` address of the key. */
  readonly address: string;
}

/** How many keys are kept: far more than the nodes one gateway talks to; the oldest go first. */
export const PUBLIC_KEY_CACHE_SIZE = 4_096;

const cache = new Map<string, PreparedPublicKey>();

/** The bech32 address of 33 compressed key bytes (shape checked by the caller). */
export function addressOfCompressedKey(compressed: Uint8Array): string {
  return bech32.encode("pokt", bech32.toWords(ripemd160(sha256(compressed))));
}

/**
 * The {@link PreparedPublicKey} of a compressed key in hex (66 digits, `02`/`03` prefix, either
 * case), from the cache or derived and cached; null when the string does not have that shape
 * (nothing is cached then). Never throws.
 */
export function preparedPublicKey(publicKeyHex: string): PreparedPublicKey | null {
  const hit = cache.get(publicKeyHex);
  if (hit !== undefined) return hit;
  if (typeof publicKeyHex !== "string" || !isHex(publicKeyHex, 33)) return null;
  const compressed = hexToBytes(publicKeyHex);
  if (compressed[0] !== 2 && compressed[0] !== 3) return null;
  const prepared: PreparedPublicKey = {
    compressed,
    point: secp256k1.decompress(compressed),
    address: addressOfCompressedKey(compressed),
  };
  if (cache.size >= PUBLIC_KEY_CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(publicKeyHex, prepared);
  return prepared;
}

/** How many keys the cache holds now (for tests and diagnostics). */
export function publicKeyCacheSize(): number {
  return cache.size;
}
