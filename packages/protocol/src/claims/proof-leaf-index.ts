import { bytesToHex, hexToBytes, isHex, sha256 } from "../encoding/index.js";

/**
 * Which leaf a node must prove for a claim: `sha256(seed ‖ root)` read as a 256-bit big-endian
 * integer, reduced modulo `relays`. The seed must be data that did not exist when the claim was
 * made (for example a hash the gateway reveals only after accepting the claim), so the node could
 * not arrange its tree around the leaf it will be asked for. The root is always 32 bytes at the end,
 * so `seed ‖ root` is unambiguous for any seed length.
 *
 * Uniformity: reducing a uniform 256-bit value modulo `relays` (≤ 2^32) favours the smallest
 * indices by at most `relays / 2^256` — below 2^-224, far beneath any practical effect, so no
 * rejection sampling is needed and every party computes the same index in one step.
 *
 * Throws `TypeError` when the seed is not hex of at least 16 bytes or the root not 32 bytes, and
 * `RangeError` when relays is not a positive integer.
 *
 * @example
 * ```ts
 * const claim = claimRoot(tree);
 * const index = proofLeafIndex("5e".repeat(32), claim); // 0 <= index < claim.relays
 * ```
 */
export function proofLeafIndex(
  seedHex: string,
  root: { readonly root: string; readonly relays: number },
): number {
  if (!isHex(seedHex) || seedHex.length < 32) {
    throw new TypeError("proofLeafIndex: seed must be hex of at least 16 bytes");
  }
  if (!isHex(root.root, 32)) throw new TypeError("proofLeafIndex: root must be 32 bytes of hex");
  if (!Number.isInteger(root.relays) || root.relays < 1) {
    throw new RangeError(`proofLeafIndex: relays must be a positive integer, got ${root.relays}`);
  }
  const seed = hexToBytes(seedHex);
  const input = new Uint8Array(seed.length + 32);
  input.set(seed, 0);
  input.set(hexToBytes(root.root), seed.length);
  const value = BigInt(`0x${bytesToHex(sha256(input))}`);
  return Number(value % BigInt(root.relays));
}
