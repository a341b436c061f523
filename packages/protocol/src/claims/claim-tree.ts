import { canonicalOrderSteps } from "./canonical-order.js";
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

  return runClaimTreeSteps(claimTreeSteps(input, inputCu));
}

/**
 * How much work one step of {@link claimTreeSteps} does before it yields: a few milliseconds at
 * most, so a caller that gives its event loop a turn between steps keeps serving while a large
 * claim is built.
 *
 * @example
 * ```ts
 * const steps = claimTreeSteps(hashes, computeUnits, { ...CLAIM_TREE_SLICES, digests: 512 });
 * ```
 */
export interface ClaimTreeSlices {
  /** SHA-256 digests (leaf or node) computed per step. */
  readonly digests: number;
  /** Hashes sorted at once as one run (at most 2^21); a claim of more merges sorted runs. */
  readonly sortRun: number;
  /** Indices merged, or weights and sorted neighbours checked, per step. */
  readonly moves: number;
}

/**
 * The steps {@link claimTreeSteps} takes by default: each holds a thread for about a millisecond
 * or two on a server core.
 *
 * @example
 * ```ts
 * CLAIM_TREE_SLICES.digests; // 2048
 * ```
 */
export const CLAIM_TREE_SLICES: ClaimTreeSlices = { digests: 2_048, sortRun: 16_384, moves: 65_536 };

/**
 * {@link buildClaimTree} of leaves already in flat arrays: relay `i`'s 32-byte hash at
 * `hashes[32i, 32i + 32)` and its compute units at `computeUnits[i]` (no object per leaf; a large
 * claim's leaves read straight from storage). The same tree, bit for bit, and the same errors.
 *
 * @example
 * ```ts
 * const hashes = new Uint8Array(64);
 * hashes.set(sha256("relay-a"), 0);
 * hashes.set(sha256("relay-b"), 32);
 * const tree = buildClaimTreeFrom(hashes, Float64Array.of(10, 20));
 * claimRoot(tree); // the root of buildClaimTree's example
 * ```
 */
export function buildClaimTreeFrom(hashes: Uint8Array, computeUnits: Float64Array): ClaimTree {
  return runClaimTreeSteps(claimTreeSteps(hashes, computeUnits));
}

/** Runs every step at once. */
function runClaimTreeSteps(steps: Generator<void, ClaimTree, void>): ClaimTree {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * {@link buildClaimTreeFrom} in steps: each `next()` does a slice of the work (see
 * {@link ClaimTreeSlices}) and the last one returns the tree. A server builds a claim of hundreds
 * of thousands of relays between its other work by giving its event loop a turn between steps;
 * the arrays must not change until the tree is returned. Errors are thrown by the step that finds
 * them.
 *
 * @example
 * ```ts
 * const steps = claimTreeSteps(hashes, computeUnits);
 * let step = steps.next();
 * while (!step.done) {
 *   await new Promise((resolve) => setImmediate(resolve));
 *   step = steps.next();
 * }
 * const tree = step.value;
 * ```
 */
export function* claimTreeSteps(
  hashes: Uint8Array,
  computeUnits: Float64Array,
  slices: ClaimTreeSlices = CLAIM_TREE_SLICES,
): Generator<void, ClaimTree, void> {
  const n = computeUnits.length;
  if (hashes.length !== n * 32) {
    throw new TypeError(
      `buildClaimTree: ${hashes.length} hash bytes for ${n} leaves (32 bytes a leaf expected)`,
    );
  }
  if (n === 0) throw new RangeError("buildClaimTree: a claim needs at least one relay");
  if (n > MAX_CLAIM_RELAYS) throw new RangeError(`buildClaimTree: more than ${MAX_CLAIM_RELAYS} relays`);
  const { digests: digestsPerStep, moves } = slices;
  for (let from = 0; from < n; from += moves) {
    checkComputeUnits(computeUnits, from, Math.min(n, from + moves));
    if (from + moves < n) yield;
  }

  const order = yield* canonicalOrderSteps(hashes, n, slices);
  const leafHashes = new Uint8Array(n * 32);
  const leafDigests = new Uint8Array(n * 32);
  const leafCu = new Uint32Array(n * 2);
  for (let from = 0; from < n; from += digestsPerStep) {
    const leaves = { hashes, computeUnits, order, leafHashes, leafDigests, leafCu };
    digestLeaves(leaves, from, Math.min(n, from + digestsPerStep));
    yield;
  }

  const digests: Uint8Array[] = [leafDigests];
  const computeUnitSums: Uint32Array[] = [leafCu];
  let width = n;
  let span = 1; // leaves under one node of the current level
  while (width > 1) {
    const below = digests[digests.length - 1]!;
    const belowCu = computeUnitSums[computeUnitSums.length - 1]!;
    const next = Math.ceil(width / 2);
    const level = { below, belowCu, up: new Uint8Array(next * 32), upCu: new Uint32Array(next * 2) };
    const pairs = Math.floor(width / 2);
    for (let from = 0; from < pairs; from += digestsPerStep) {
      digestPairs(level, n, span, from, Math.min(pairs, from + digestsPerStep));
      yield;
    }
    if (width % 2 === 1) {
      // Promote the lone last node unchanged.
      level.up.set(below.subarray((width - 1) * 32, width * 32), pairs * 32);
      level.upCu[2 * pairs] = belowCu[2 * (width - 1)]!;
      level.upCu[2 * pairs + 1] = belowCu[2 * (width - 1) + 1]!;
    }
    digests.push(level.up);
    computeUnitSums.push(level.upCu);
    width = next;
    span *= 2;
  }
  return { relays: n, leafHashes, digests, computeUnits: computeUnitSums };
}

/** Throws for a weight of `computeUnits[from, to)` that is no safe integer >= 0. */
function checkComputeUnits(computeUnits: Float64Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const cu = computeUnits[i]!;
    if (!Number.isSafeInteger(cu) || cu < 0) {
      throw new RangeError(`buildClaimTree: leaf ${i} computeUnits must be a safe integer >= 0, got ${cu}`);
    }
  }
}

/** Places the sorted leaves `[from, to)`: their hashes, compute units and leaf digests. */
function digestLeaves(
  leaves: {
    readonly hashes: Uint8Array;
    readonly computeUnits: Float64Array;
    readonly order: Uint32Array;
    readonly leafHashes: Uint8Array;
    readonly leafDigests: Uint8Array;
    readonly leafCu: Uint32Array;
  },
  from: number,
  to: number,
): void {
  const { hashes, computeUnits, order, leafHashes, leafDigests, leafCu } = leaves;
  for (let i = from; i < to; i++) {
    const source = order[i]! * 32;
    for (let b = 0; b < 32; b++) leafHashes[i * 32 + b] = hashes[source + b]!;
    const cu = computeUnits[order[i]!]!;
    const hi = Math.floor(cu / TWO_32);
    const lo = cu >>> 0;
    leafCu[2 * i] = hi;
    leafCu[2 * i + 1] = lo;
    setLeafHash(leafHashes, i * 32);
    leafDigestInto(hi, lo, leafDigests, i * 32);
  }
}

/** Digests the pairs `[from, to)` of a level into the level above (`span` leaves under each child). */
function digestPairs(
  level: {
    readonly below: Uint8Array;
    readonly belowCu: Uint32Array;
    readonly up: Uint8Array;
    readonly upCu: Uint32Array;
  },
  relays: number,
  span: number,
  from: number,
  to: number,
): void {
  const { below, belowCu, up, upCu } = level;
  for (let j = from; j < to; j++) {
    let lo = belowCu[4 * j + 1]! + belowCu[4 * j + 3]!;
    let hi = belowCu[4 * j]! + belowCu[4 * j + 2]!;
    if (lo >= TWO_32) {
      lo -= TWO_32;
      hi += 1;
    }
    if (hi >= TWO_32) throw new RangeError("buildClaimTree: compute units exceed 2^64 - 1");
    upCu[2 * j] = hi;
    upCu[2 * j + 1] = lo;
    const count = Math.min((j + 1) * 2 * span, relays) - j * 2 * span;
    nodeDigestInto(below, j * 64, count, hi, lo, up, j * 32);
  }
}
