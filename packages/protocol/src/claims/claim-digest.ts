import { createSha256Scratch, digestScratch } from "./fixed-sha256.js";
import { writeU64 } from "./u64.js";

/**
 * The two digests of the claim tree, written into caller-owned buffers. Internal to `claims/`;
 * the formats are documented on {@link buildClaimTree}.
 *
 *   leaf = sha256(0x00 ‖ relayHash[32] ‖ computeUnits u64 BE)                            41 bytes
 *   node = sha256(0x01 ‖ left[32] ‖ right[32] ‖ count u64 BE ‖ computeUnits u64 BE)     81 bytes
 */

/** Domain byte of a leaf digest; a leaf can never be mistaken for a node. */
export const LEAF_DOMAIN = 0x00;
/** Domain byte of an inner node digest. */
export const NODE_DOMAIN = 0x01;

const leafScratch = createSha256Scratch(41);
const nodeScratch = createSha256Scratch(81);
leafScratch.bytes[0] = LEAF_DOMAIN;
nodeScratch.bytes[0] = NODE_DOMAIN;

/** The scratch's message area where the 32-byte relay hash goes (bytes 1..32). */
export const leafHashArea = leafScratch.bytes;

/**
 * Leaf digest of the relay hash already written at `leafHashArea[1..33)`, with `cuHi·2^32+cuLo`
 * compute units, into `out` at `outOffset`.
 */
export function leafDigestInto(cuHi: number, cuLo: number, out: Uint8Array, outOffset: number): void {
  writeU64(leafScratch.bytes, 33, cuHi, cuLo);
  digestScratch(leafScratch, out, outOffset);
}

/** Copies a 32-byte relay hash from `src` at `srcOffset` into the leaf scratch. */
export function setLeafHash(src: Uint8Array, srcOffset: number): void {
  const s = leafScratch.bytes;
  for (let i = 0; i < 32; i++) s[1 + i] = src[srcOffset + i]!;
}

/**
 * Node digest of two adjacent children stored contiguously at `children[childOffset..+64)` (left
 * then right), with the node's `count` and compute units `cuHi·2^32+cuLo`.
 */
export function nodeDigestInto(
  children: Uint8Array,
  childOffset: number,
  count: number,
  cuHi: number,
  cuLo: number,
  out: Uint8Array,
  outOffset: number,
): void {
  const s = nodeScratch.bytes;
  for (let i = 0; i < 64; i++) s[1 + i] = children[childOffset + i]!;
  writeU64(s, 65, Math.floor(count / 0x1_0000_0000), count >>> 0);
  writeU64(s, 73, cuHi, cuLo);
  digestScratch(nodeScratch, out, outOffset);
}

/** Node scratch's message bytes, for callers that place `left ‖ right` themselves at [1..65). */
export const nodeChildArea = nodeScratch.bytes;

/** Node digest of the children already placed in {@link nodeChildArea}. */
export function nodeDigestInPlace(
  count: number,
  cuHi: number,
  cuLo: number,
  out: Uint8Array,
  outOffset: number,
): void {
  writeU64(nodeScratch.bytes, 65, Math.floor(count / 0x1_0000_0000), count >>> 0);
  writeU64(nodeScratch.bytes, 73, cuHi, cuLo);
  digestScratch(nodeScratch, out, outOffset);
}
