import { leafDigestInto, nodeDigestInto, setLeafHash } from "./claim-digest.js";
import { decodeHexInto } from "./u64.js";

/**
 * One relay as a claim leaf: the relay's 32-byte identity hash (bytes or 64 lowercase hex) and its
 * compute units (a safe integer ≥ 0). Every leaf counts as exactly one relay.
 *
 * @example
 * ```ts
 * const leaf: ClaimLeaf = { hash: sha256("relay-1"), computeUnits: 4600 };
 * ```
 */
export interface ClaimLeaf {
  readonly hash: Uint8Array | string;
  readonly computeUnits: number;
}

/**
 * A built claim tree, stored as flat typed arrays (no object per node). Level 0 holds the leaves in
 * canonical order; the last level holds the root alone. Node `j` of level `k` covers the sorted
 * leaves `[j·2^k, min((j+1)·2^k, relays))`, so its relay count is implied by its position.
 *
 * @example
 * ```ts
 * const tree: ClaimTree = buildClaimTree([{ hash: sha256("r"), computeUnits: 1 }]);
 * tree.relays; // 1
 * ```
 */
export interface ClaimTree {
  /** Number of leaves (relays). */
  readonly relays: number;
  /** The leaves' relay hashes in canonical (ascending byte) order, 32 bytes each. */
  readonly leafHashes: Uint8Array;
  /** Per level, the nodes' digests, 32 bytes each; `digests[digests.length - 1]` is the root. */
  readonly digests: readonly Uint8Array[];
  /** Per level, the nodes' compute-unit sums as u64 `[hi, lo]` pairs of 32-bit words. */
  readonly computeUnits: readonly Uint32Array[];
}

/** Largest number of leaves a claim may hold (counts travel as u32 in the tree's buffers). */
export const MAX_CLAIM_RELAYS = 0xffff_ffff;

const TWO_32 = 0x1_0000_0000;

/**
 * Builds the Merkle sum tree of a session's relays.
 *
 * - Canonical order: leaves are sorted by relay hash (ascending bytes), so the node and any verifier
 *   build the same tree whatever order the relays were stored in. Two leaves with the same hash are
 *   refused (`RangeError`): a relay counts once.
 * - Leaf digest `sha256(0x00 ‖ hash ‖ cu u64 BE)`; inner digest
 *   `sha256(0x01 ‖ left ‖ right ‖ count u64 BE ‖ cu u64 BE)` where count and cu are the sums of
 *   the children. The domain bytes keep a leaf from passing as a node and back.
 * - Odd levels: the last node of a level with an odd number of nodes is promoted unchanged to the
 *   next level. Nothing is duplicated (duplicating it, as some trees do, lets two different leaf
 *   sets share a root); the shape is a pure function of the relay count, and verifiers check each
 *   sibling's count against that shape, so a proof cannot pad, shorten or reorder its path.
 *
 * Throws `TypeError` for a hash that is not 32 bytes and `RangeError` for no leaves, bad compute
 * units or a duplicate hash: these are the caller's bugs, not network input.
 *
 * @example
 * ```ts
 * const tree = buildClaimTree([
 *   { hash: sha256("relay-a"), computeUnits: 10 },
 *   { hash: sha256("relay-b"), computeUnits: 20 },
 * ]);
 * claimRoot(tree); // { root: "…64 hex…", relays: 2, computeUnits: "30" }
 * ```
 */
export function buildClaimTree(leaves: readonly ClaimLeaf[]): ClaimTree {
  const n = leaves.length;
  if (n === 0) throw new RangeError("buildClaimTree: a claim needs at least one relay");
  if (n > MAX_CLAIM_RELAYS) throw new RangeError(`buildClaimTree: more than ${MAX_CLAIM_RELAYS} relays`);

  const input = new Uint8Array(n * 32);
  const inputCu = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const leaf = leaves[i]!;
    const h = leaf.hash;
    if (typeof h === "string") {
      if (!decodeHexInto(h, 32, input, i * 32)) {
        throw new TypeError(`buildClaimTree: leaf ${i} hash is not 64 lowercase hex characters`);
      }
    } else {
      if (!(h instanceof Uint8Array) || h.length !== 32) {
        throw new TypeError(`buildClaimTree: leaf ${i} hash is not 32 bytes`);
      }
      input.set(h, i * 32);
    }
    const cu = leaf.computeUnits;
    if (!Number.isSafeInteger(cu) || cu < 0) {
      throw new RangeError(`buildClaimTree: leaf ${i} computeUnits must be a safe integer >= 0, got ${cu}`);
    }
    inputCu[i] = cu;
  }

  const order = canonicalOrder(input, n);
  const leafHashes = new Uint8Array(n * 32);
  const leafDigests = new Uint8Array(n * 32);
  const leafCu = new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const from = order[i]! * 32;
    for (let b = 0; b < 32; b++) leafHashes[i * 32 + b] = input[from + b]!;
    const cu = inputCu[order[i]!]!;
    const hi = Math.floor(cu / TWO_32);
    const lo = cu >>> 0;
    leafCu[2 * i] = hi;
    leafCu[2 * i + 1] = lo;
    setLeafHash(leafHashes, i * 32);
    leafDigestInto(hi, lo, leafDigests, i * 32);
  }

  const digests: Uint8Array[] = [leafDigests];
  const computeUnits: Uint32Array[] = [leafCu];
  let width = n;
  let span = 1; // leaves under one node of the current level
  while (width > 1) {
    const below = digests[digests.length - 1]!;
    const belowCu = computeUnits[computeUnits.length - 1]!;
    const next = Math.ceil(width / 2);
    const up = new Uint8Array(next * 32);
    const upCu = new Uint32Array(next * 2);
    const pairs = Math.floor(width / 2);
    for (let j = 0; j < pairs; j++) {
      let lo = belowCu[4 * j + 1]! + belowCu[4 * j + 3]!;
      let hi = belowCu[4 * j]! + belowCu[4 * j + 2]!;
      if (lo >= TWO_32) {
        lo -= TWO_32;
        hi += 1;
      }
      if (hi >= TWO_32) throw new RangeError("buildClaimTree: compute units exceed 2^64 - 1");
      upCu[2 * j] = hi;
      upCu[2 * j + 1] = lo;
      const count = Math.min((j + 1) * 2 * span, n) - j * 2 * span;
      nodeDigestInto(below, j * 64, count, hi, lo, up, j * 32);
    }
    if (width % 2 === 1) {
      // Promote the lone last node unchanged.
      up.set(below.subarray((width - 1) * 32, width * 32), pairs * 32);
      upCu[2 * pairs] = belowCu[2 * (width - 1)]!;
      upCu[2 * pairs + 1] = belowCu[2 * (width - 1) + 1]!;
    }
    digests.push(up);
    computeUnits.push(upCu);
    width = next;
    span *= 2;
  }
  return { relays: n, leafHashes, digests, computeUnits };
}

const PACK = 0x20_0000; // 2^21: a 32-bit key times 2^21 plus an index below 2^21 stays exact in a double

/**
 * Indices of the 32-byte hashes in ascending byte order; throws on a duplicate. Sorts doubles
 * packing (first 4 bytes, index) natively when the index fits in 21 bits, then orders the rare runs
 * that share their first 4 bytes by the full hash; larger claims use a comparator sort.
 */
function canonicalOrder(hashes: Uint8Array, n: number): Uint32Array {
  const view = new DataView(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const compare = (a: number, b: number): number => {
    for (let w = 0; w < 32; w += 4) {
      const d = view.getUint32(a * 32 + w) - view.getUint32(b * 32 + w);
      if (d !== 0) return d;
    }
    return 0;
  };
  const order = new Uint32Array(n);
  if (n <= PACK) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = view.getUint32(i * 32) * PACK + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = keys[i]! % PACK;
    let runStart = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n && Math.floor(keys[i]! / PACK) === Math.floor(keys[runStart]! / PACK)) continue;
      if (i - runStart > 1) order.subarray(runStart, i).sort(compare);
      runStart = i;
    }
  } else {
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort(compare);
  }
  for (let i = 1; i < n; i++) {
    const a = order[i - 1]!;
    const b = order[i]!;
    if (compare(a, b) === 0) {
      throw new RangeError(
        `buildClaimTree: duplicate relay hash (leaves ${Math.min(a, b)} and ${Math.max(a, b)})`,
      );
    }
  }
  return order;
}
