/**
 * Small exact checks of plain JSON values, for the hand-written envelope and header checks that
 * run before (and instead of) their schemas on the hot path. Internal: not part of the package's
 * exports.
 */

/** A SHA-256 digest in lowercase hex. */
export const HEX_64 = /^[0-9a-f]{64}$/;

/** A compact secp256k1 signature in lowercase hex. */
export const HEX_128 = /^[0-9a-f]{128}$/;

/** A plain object (JSON-parsed or built from a literal) whose own keys are all in `keys`. */
export function isRecordOf(value: unknown, keys: ReadonlySet<string>): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}

/** A safe, non-negative integer. */
export const isNat = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/**
 * A string of `min`–`max` UTF-16 units: within a schema's `min(min).max(max)` whatever unit the
 * schema counts in (code points are never more than UTF-16 units).
 */
export const isShortString = (value: unknown, max: number, min = 0): value is string =>
  typeof value === "string" && value.length >= min && value.length <= max;
