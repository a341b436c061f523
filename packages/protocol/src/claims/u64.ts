import { z } from "zod";

/**
 * Unsigned 64-bit integers as two 32-bit halves, so the claim tree sums compute units exactly past
 * 2^53 without allocating a bigint per node. Internal to `claims/`.
 */

const TWO_32 = 0x1_0000_0000;
const U64_MAX = (1n << 64n) - 1n;

/** A u64 as a canonical decimal string: no sign, no leading zeros, at most 2^64 − 1. */
export const u64String = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,19})$/, "expected an unsigned integer in decimal, without leading zeros")
  .refine((s) => s.length < 20 || BigInt(s) <= U64_MAX, "exceeds 2^64 - 1");

/** Scratch result of {@link parseU64}: `[hi, lo]`. */
export const parsedU64 = new Uint32Array(2);

/**
 * Parses a canonical decimal u64 into {@link parsedU64}; false when the string is not one.
 * Fast path for values below 10^15 (exact as doubles).
 */
export function parseU64(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 20 || (n > 1 && s.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  if (n <= 15) {
    const v = Number(s);
    parsedU64[0] = Math.floor(v / TWO_32);
    parsedU64[1] = v >>> 0;
    return true;
  }
  const v = BigInt(s);
  if (v > U64_MAX) return false;
  parsedU64[0] = Number(v >> 32n);
  parsedU64[1] = Number(v & 0xffff_ffffn);
  return true;
}

/** Decimal string of the u64 `hi·2^32 + lo`. */
export function formatU64(hi: number, lo: number): string {
  if (hi < 0x20_0000) return String(hi * TWO_32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Writes the u64 `hi·2^32 + lo` big-endian at `offset`. */
export function writeU64(out: Uint8Array, offset: number, hi: number, lo: number): void {
  out[offset] = hi >>> 24;
  out[offset + 1] = hi >>> 16;
  out[offset + 2] = hi >>> 8;
  out[offset + 3] = hi;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = lo >>> 16;
  out[offset + 6] = lo >>> 8;
  out[offset + 7] = lo;
}

/**
 * Decodes 2·`bytes` lowercase hex characters of `hex` into `out` at `offset`; false (and `out`
 * partly written) when `hex` has another length or a character outside `0-9a-f`.
 */
export function decodeHexInto(hex: string, bytes: number, out: Uint8Array, offset: number): boolean {
  if (hex.length !== bytes * 2) return false;
  for (let i = 0; i < bytes; i++) {
    const hiNibble = nibble(hex.charCodeAt(2 * i));
    const loNibble = nibble(hex.charCodeAt(2 * i + 1));
    if (hiNibble < 0 || loNibble < 0) return false;
    out[offset + i] = (hiNibble << 4) | loNibble;
  }
  return true;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
