import { bytesToHex, canonicalHash, hexToBytes, isHex } from "../encoding/index.js";
import { type PreparedPublicKey, preparedPublicKey } from "./public-key-cache.js";
import { secp256k1 } from "./secp256k1-backend.js";

/**
 * Signs a 32-byte digest with a private key: deterministic ECDSA over secp256k1 (RFC 6979 nonces),
 * normalised to low-S, returned as the 64-byte compact form r ‖ s. Throws a `TypeError` when the
 * digest is not 32 bytes or the key is not a valid scalar (both are the signer's own data).
 *
 * @example
 * ```ts
 * const signature = signDigest(sha256("hello"), generatePrivateKey());
 * signature.length; // 64
 * ```
 */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) {
    throw new TypeError("signDigest: the digest must be 32 bytes");
  }
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new TypeError("signDigest: the private key must be 32 bytes");
  }
  try {
    return secp256k1.sign(digest, privateKey);
  } catch {
    throw new TypeError("signDigest: the private key is not a valid secp256k1 scalar");
  }
}

/**
 * Whether `signature` (64-byte compact r ‖ s) is a valid signature of the 32-byte `digest` by the
 * compressed 33-byte `publicKey`. Only low-S signatures are accepted, so a third party cannot make
 * a second valid signature from a first. Never throws: wrong types, lengths, points off the curve
 * or out-of-range r/s all give `false`.
 *
 * @example
 * ```ts
 * const privateKey = generatePrivateKey();
 * const digest = sha256("hello");
 * verifyDigest(digest, publicKeyFromPrivateKey(privateKey), signDigest(digest, privateKey)); // true
 * ```
 */
export function verifyDigest(digest: Uint8Array, publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 33) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    return secp256k1.verify(digest, publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * {@link verifyDigest} with a key prepared once (see `preparedPublicKey`): the point is already
 * decompressed, so a stream of signatures by one key skips that work on each. Never throws.
 */
export function verifyDigestPrepared(
  digest: Uint8Array,
  publicKey: PreparedPublicKey,
  signature: Uint8Array,
): boolean {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (publicKey.point === null) return false;
  try {
    return secp256k1.verify(digest, publicKey.point, signature);
  } catch {
    return false;
  }
}

/**
 * Signs a JSON value: the signature of SHA-256 of its canonical bytes (see `canonicalJson`), as
 * 128 lowercase hex digits. The key order of objects does not matter. Throws a `TypeError` when
 * the value cannot be encoded canonically or the key is invalid.
 *
 * @example
 * ```ts
 * const signatureHex = signCanonical({ b: 2, a: 1 }, privateKey);
 * signatureHex === signCanonical({ a: 1, b: 2 }, privateKey); // true (deterministic)
 * ```
 */
export function signCanonical(value: unknown, privateKey: Uint8Array): string {
  return bytesToHex(signDigest(canonicalHash(value), privateKey));
}

/**
 * Whether `signatureHex` is a valid signature of `value`'s canonical hash by the compressed public
 * key `publicKeyHex`. Hex of either case is read. Never throws: a value that cannot be encoded
 * canonically, or malformed hex, gives `false`.
 *
 * @example
 * ```ts
 * const kp = generateKeyPair();
 * verifyCanonical({ a: 1 }, kp.publicKeyHex, signCanonical({ a: 1 }, kp.privateKey)); // true
 * ```
 */
export function verifyCanonical(value: unknown, publicKeyHex: string, signatureHex: string): boolean {
  const publicKey = preparedPublicKey(publicKeyHex);
  if (publicKey === null) return false;
  if (typeof signatureHex !== "string" || !isHex(signatureHex, 64)) return false;
  let digest: Uint8Array;
  try {
    digest = canonicalHash(value);
  } catch {
    return false;
  }
  return verifyDigestPrepared(digest, publicKey, hexToBytes(signatureHex));
}
