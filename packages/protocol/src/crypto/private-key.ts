import { bytesToHex, hexToBytes, isHex } from "../encoding/index.js";
import { secp256k1 } from "./secp256k1-backend.js";

const isPrivate = (key: Uint8Array) => key.length === 32 && secp256k1.isPrivate(key);

/**
 * Draws a fresh secp256k1 private key (32 bytes) from the platform's cryptographic random source
 * (`globalThis.crypto.getRandomValues`). Draws again in the astronomically rare case that the bytes
 * are zero or not below the curve order.
 *
 * @example
 * ```ts
 * const privateKey = generatePrivateKey();
 * privateKey.length; // 32
 * ```
 */
export function generatePrivateKey(): Uint8Array {
  for (;;) {
    const candidate = globalThis.crypto.getRandomValues(new Uint8Array(32));
    if (isPrivate(candidate)) return candidate;
  }
}

/**
 * Whether a string is a valid private key in hex: 64 hex digits (an optional `0x` prefix is
 * allowed) whose value is a non-zero scalar below the secp256k1 order. Use it before
 * {@link privateKeyFromHex} when the string comes from configuration you want to report on.
 *
 * @example
 * ```ts
 * isValidPrivateKeyHex("00".repeat(31) + "01"); // true
 * isValidPrivateKeyHex("00".repeat(32)); // false
 * ```
 */
export function isValidPrivateKeyHex(hex: string): boolean {
  if (typeof hex !== "string") return false;
  const digits = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!isHex(digits, 32)) return false;
  return isPrivate(hexToBytes(digits));
}

/**
 * Reads a private key from hex (64 digits, optional `0x` prefix, either case). Keys come from the
 * operator's own configuration, so a bad key is a setup mistake: this throws a `TypeError` whose
 * message says what is wrong and never repeats the key. Check with {@link isValidPrivateKeyHex}
 * first to handle the failure without an exception.
 *
 * @example
 * ```ts
 * const privateKey = privateKeyFromHex(process.env.NODE_KEY ?? "");
 * ```
 */
export function privateKeyFromHex(hex: string): Uint8Array {
  if (typeof hex !== "string") throw new TypeError("private key: expected a hex string");
  const digits = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!isHex(digits)) throw new TypeError("private key: not a hex string (0-9, a-f only)");
  if (digits.length !== 64) {
    throw new TypeError(`private key: expected 64 hex digits (32 bytes), got ${digits.length}`);
  }
  const key = hexToBytes(digits);
  if (!isPrivate(key)) throw new TypeError("private key: zero or not below the secp256k1 curve order");
  return key;
}

/**
 * The 33-byte compressed public key (`02`/`03` prefix and x coordinate) of a private key. Throws a
 * `TypeError` when the private key is not a valid 32-byte scalar.
 *
 * @example
 * ```ts
 * bytesToHex(publicKeyFromPrivateKey(privateKeyFromHex("00".repeat(31) + "01")));
 * // "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
 * ```
 */
export function publicKeyFromPrivateKey(privateKey: Uint8Array): Uint8Array {
  if (!(privateKey instanceof Uint8Array) || !isPrivate(privateKey)) {
    throw new TypeError("private key: expected a valid 32-byte secp256k1 scalar");
  }
  const point = secp256k1.publicKey(privateKey, true);
  if (point === null) throw new TypeError("private key: has no public point");
  return point;
}

/**
 * The compressed public key of a private key, as 66 lowercase hex digits (the form envelopes carry).
 *
 * @example
 * ```ts
 * publicKeyHexFromPrivateKey(generatePrivateKey()).length; // 66
 * ```
 */
export function publicKeyHexFromPrivateKey(privateKey: Uint8Array): string {
  return bytesToHex(publicKeyFromPrivateKey(privateKey));
}
