import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { bearerTokenOf } from "@pocket-ai/link";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 248 = 4 × 62: bytes at or above it are dropped so every character is equally likely. */
const UNBIASED_LIMIT = 248;

/** `pai_` followed by 32 base62 characters (about 190 bits of entropy). */
export const API_KEY_PATTERN = /^pai_[0-9A-Za-z]{32}$/;
const API_KEY_PREFIX = "pai_";
/** Characters of the secret kept in clear (after `pai_`) so an operator can tell keys apart. */
const VISIBLE_CHARS = 6;

/** `length` base62 characters from the platform's cryptographic random source, without modulo bias. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A fresh API key. It is shown to its owner once; the gateway keeps only {@link hashApiKey}. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBase62(32);
}

export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_PATTERN.test(key);
}

/**
 * The stored form of a key: SHA-256, hex. A plain hash (no salt, no slow KDF) is right here:
 * the secret is 190 random bits, so there is nothing to brute-force, and the hot path needs a
 * lookup by hash.
 */
export function hashApiKey(key: string): string {
  // One-shot: no hash object per request (the key is hashed on every request it authenticates).
  return hash("sha256", key, "hex");
}

/** The visible part of a key, e.g. `pai_Ab12Cd…`. */
export function visiblePrefix(key: string): string {
  return `${key.slice(0, API_KEY_PREFIX.length + VISIBLE_CHARS)}…`;
}

/** Constant-time equality of two hex hashes (unequal lengths compare as different). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The key of an `Authorization` header value: `Bearer <key>` (scheme case-insensitive) or the
 * bare key. `undefined` when nothing is there.
 */
export const bearerToken: (header: string | undefined) => string | undefined = bearerTokenOf;
