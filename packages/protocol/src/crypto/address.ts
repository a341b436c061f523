import { bech32 } from "@scure/base";
import { z } from "zod";
import { hexToBytes, isHex } from "../encoding/index.js";
import { addressOfCompressedKey, preparedPublicKey } from "./public-key-cache.js";

/** The bech32 human-readable prefix of every Pocket AI account address. */
export const POKT_ADDRESS_PREFIX = "pokt" as const;

/** Account addresses are 20 bytes: RIPEMD-160 of SHA-256 of the compressed public key. */
const ADDRESS_BYTES = 20;

/**
 * The `pokt1…` address of a compressed secp256k1 public key (33 bytes, or 66 hex digits):
 * bech32 with prefix `pokt` of RIPEMD-160(SHA-256(public key)), the scheme Cosmos SDK chains such
 * as Pocket Shannon use. Throws a `TypeError` when the input is not 33 bytes with a `02`/`03`
 * prefix (the point itself is not checked here; signatures check it).
 *
 * @example
 * ```ts
 * addressFromPublicKey(publicKeyFromPrivateKey(generatePrivateKey())); // "pokt1…" (43 characters)
 * ```
 */
export function addressFromPublicKey(publicKey: Uint8Array | string): string {
  const bytes = typeof publicKey === "string" ? publicKeyBytesOrNull(publicKey) : publicKey;
  if (!(bytes instanceof Uint8Array) || !isCompressedKeyShape(bytes)) {
    throw new TypeError("public key: expected 33 bytes (compressed, 02/03 prefix)");
  }
  return addressOfCompressedKey(bytes);
}

/**
 * Whether a string is a well-formed Pocket AI account address: lowercase bech32 with prefix
 * `pokt`, a valid checksum, and a 20-byte payload. Mixed- or upper-case spellings are refused so
 * that every account has exactly one spelling in signed envelopes. Never throws.
 *
 * @example
 * ```ts
 * isValidAddress(addressFromPublicKey(publicKeyFromPrivateKey(generatePrivateKey()))); // true
 * isValidAddress("cosmos1…"); // false
 * ```
 */
export function isValidAddress(address: unknown): address is string {
  if (typeof address !== "string") return false;
  if (validAddresses.has(address)) return true;
  if (address.length > 90 || address !== address.toLowerCase()) return false;
  try {
    const decoded = bech32.decodeUnsafe(address, 90);
    if (!decoded || decoded.prefix !== POKT_ADDRESS_PREFIX) return false;
    const data = bech32.fromWordsUnsafe(decoded.words);
    if (!(data instanceof Uint8Array) || data.length !== ADDRESS_BYTES) return false;
  } catch {
    return false;
  }
  if (validAddresses.size >= VALID_ADDRESSES_KEPT) validAddresses.clear();
  validAddresses.add(address);
  return true;
}

/**
 * Addresses already found valid, at most {@link VALID_ADDRESSES_KEPT}: every relay envelope names
 * the same few nodes and gateways, and decoding bech32 again for each costs more than the lookup.
 * Only valid ones are kept, and the set is emptied when full: whatever addresses a stranger
 * sends, they hold no more memory than that.
 */
const validAddresses = new Set<string>();
const VALID_ADDRESSES_KEPT = 4096;

/**
 * Whether `address` is the address of the compressed public key given as hex. Never throws:
 * malformed inputs give `false`.
 *
 * @example
 * ```ts
 * const kp = generateKeyPair();
 * addressMatchesPublicKey(kp.address, kp.publicKeyHex); // true
 * ```
 */
export function addressMatchesPublicKey(address: string, publicKeyHex: string): boolean {
  return preparedPublicKey(publicKeyHex)?.address === address;
}

/**
 * Zod schema of a Pocket AI account address (see {@link isValidAddress}).
 *
 * @example
 * ```ts
 * PoktAddress.safeParse("pokt1xyz").success; // false (bad checksum)
 * ```
 */
export const PoktAddress = z.string().refine(isValidAddress, {
  message: "expected a lowercase bech32 address with prefix pokt and a 20-byte payload",
});

/**
 * Zod schema of a compressed secp256k1 public key in lowercase hex (66 digits, `02`/`03` prefix).
 *
 * @example
 * ```ts
 * PublicKeyHex.safeParse("02" + "ab".repeat(32)).success; // true
 * ```
 */
export const PublicKeyHex = z.string().regex(/^0[23][0-9a-f]{64}$/, {
  message: "expected a compressed secp256k1 public key: 66 lowercase hex digits starting 02 or 03",
});

/**
 * Zod schema of a compact secp256k1 signature (r ‖ s, 64 bytes) in lowercase hex (128 digits).
 *
 * @example
 * ```ts
 * SignatureHex.safeParse("00".repeat(64)).success; // true (shape only; verification is separate)
 * ```
 */
export const SignatureHex = z.string().regex(/^[0-9a-f]{128}$/, {
  message: "expected a compact signature: 128 lowercase hex digits",
});

function publicKeyBytesOrNull(hex: string): Uint8Array | null {
  return typeof hex === "string" && isHex(hex, 33) ? hexToBytes(hex) : null;
}

function isCompressedKeyShape(bytes: Uint8Array): boolean {
  return bytes.length === 33 && (bytes[0] === 2 || bytes[0] === 3);
}
