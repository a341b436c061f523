import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from "@noble/hashes/utils.js";
import { withCanonicalBytes, withPrefixedCanonicalBytes } from "./canonical.js";
import { nodeCrypto } from "./node-builtins.js";

const encoder = new TextEncoder();

/**
 * SHA-256 of the concatenation of `parts` (strings as UTF-8). Node's own SHA-256 (OpenSSL) where
 * `node:crypto` is there, which hashes strings without an intermediate copy; `@noble/hashes`
 * elsewhere. Both give the same digest; the returned array is a plain `Uint8Array`.
 */
export const sha256Parts: (...parts: ReadonlyArray<Uint8Array | string>) => Uint8Array =
  nodeCrypto === undefined ? nobleSha256Parts : nodeSha256Parts(nodeCrypto);

/**
 * SHA-256 of one byte string or string: Node's one-shot `crypto.hash` where it is there (no hash
 * object per call), else {@link sha256Parts}.
 */
const sha256One: (data: Uint8Array | string) => Uint8Array =
  typeof nodeCrypto?.hash === "function"
    ? ((hash) => (data) => {
        const digest = hash("sha256", data, "buffer");
        return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
      })(nodeCrypto.hash)
    : (data) => sha256Parts(data);

/**
 * Lowercase hex SHA-256 of 32 bytes, given as 64 hex digits, followed by the UTF-8 bytes of
 * `canonicalJson(value)`, written into a buffer the package reuses instead of built as a string (a
 * stream chunk's chain step, once per chunk in both the node and the gateway). Throws a
 * `TypeError` for a prefix that is not 64 hex digits or a value `canonicalJson` refuses.
 */
export const sha256HexAfterCanonical: (prefixHex: string, value: unknown) => string = ((hash) => {
  const digest: (bytes: Uint8Array) => string =
    hash === undefined ? (bytes) => bytesToHex(nobleSha256(bytes)) : (bytes) => hash("sha256", bytes, "hex");
  return (prefixHex: string, value: unknown) => {
    const hex = withPrefixedCanonicalBytes(prefixHex, value, digest);
    if (hex === undefined) throw new TypeError("sha256HexAfterCanonical: the prefix must be 64 hex digits");
    return hex;
  };
})(typeof nodeCrypto?.hash === "function" ? nodeCrypto.hash : undefined);

export function nobleSha256Parts(...parts: ReadonlyArray<Uint8Array | string>): Uint8Array {
  const hash = nobleSha256.create();
  for (const part of parts) hash.update(typeof part === "string" ? encoder.encode(part) : part);
  return hash.digest();
}

function nodeSha256Parts(crypto: NonNullable<typeof nodeCrypto>) {
  return (...parts: ReadonlyArray<Uint8Array | string>): Uint8Array => {
    const hash = crypto.createHash("sha256");
    for (const part of parts) hash.update(part);
    const digest = hash.digest();
    return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
  };
}

/**
 * SHA-256 of bytes (or of a string's UTF-8 bytes).
 *
 * @example
 * ```ts
 * bytesToHex(sha256("abc")); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 */
export function sha256(data: Uint8Array | string): Uint8Array {
  return sha256One(data);
}

/**
 * SHA-256 as lowercase hex.
 *
 * @example
 * ```ts
 * sha256Hex(""); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * ```
 */
export function sha256Hex(data: Uint8Array | string): string {
  return toHex(sha256(data));
}

/**
 * SHA-256 of a value's canonical JSON bytes: the digest every signature in the protocol covers.
 *
 * @example
 * ```ts
 * bytesToHex(canonicalHash({ b: 2, a: 1 })) === bytesToHex(canonicalHash({ a: 1, b: 2 })); // true
 * ```
 */
export function canonicalHash(value: unknown): Uint8Array {
  return withCanonicalBytes(value, sha256One);
}

/**
 * Lowercase hex of bytes.
 *
 * @example
 * ```ts
 * bytesToHex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function bytesToHex(bytes: Uint8Array): string {
  return toHex(bytes);
}

/** Node's `Buffer`, where there is one: its hex writer is native, one string and no per-byte pieces. */
const NodeBuffer = (
  globalThis as {
    Buffer?: {
      from(buffer: ArrayBufferLike, offset: number, length: number): { toString(enc: "hex"): string };
    };
  }
).Buffer;

const toHex: (bytes: Uint8Array) => string =
  NodeBuffer === undefined
    ? nobleBytesToHex
    : (bytes) => {
        if (!(bytes instanceof Uint8Array)) return nobleBytesToHex(bytes);
        return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
      };

/**
 * Bytes of a hex string (even length, 0-9a-f in either case). Throws `Error` on bad input; use
 * {@link isHex} first where input is untrusted.
 *
 * @example
 * ```ts
 * hexToBytes("01ff"); // Uint8Array [1, 255]
 * ```
 */
export function hexToBytes(hex: string): Uint8Array {
  return nobleHexToBytes(hex);
}

/**
 * Whether a string is hex of exactly `bytes` bytes (any length when omitted).
 *
 * @example
 * ```ts
 * isHex("00ff", 2); // true
 * isHex("0g"); // false
 * ```
 */
export function isHex(value: string, bytes?: number): boolean {
  if (value.length % 2 !== 0) return false;
  if (bytes !== undefined && value.length !== bytes * 2) return false;
  return /^[0-9a-fA-F]*$/.test(value);
}
