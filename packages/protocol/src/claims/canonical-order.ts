import type { ClaimTreeSlices } from "./claim-tree.js";

const PACK = 0x20_0000; // 2^21: a 32-bit key times 2^21 plus an index below 2^21 stays exact in a double

/** Compares two 32-byte hashes of `view` by index, as unsigned bytes. */
const hashCompare =
  (view: DataView) =>
  (a: number, b: number): number => {
    for (let w = 0; w < 32; w += 4) {
      const d = view.getUint32(a * 32 + w) - view.getUint32(b * 32 + w);
      if (d !== 0) return d;
    }
    return 0;
  };

/**
 * Indices of the `n` 32-byte hashes in ascending byte order, in steps (see `claimTreeSteps`);
 * throws on a duplicate. Runs of `sortRun` hashes are sorted natively as doubles packing (first 4
 * bytes, index in the run), the rare hashes that share their first 4 bytes then by the full hash;
 * the sorted runs are merged pairwise, a slice of `moves` indices a step. Equal hashes keep their
 * input order, so a duplicate is named by the same two leaves however the work is sliced.
 */
export function* canonicalOrderSteps(
  hashes: Uint8Array,
  n: number,
  slices: ClaimTreeSlices,
): Generator<void, Uint32Array, void> {
  const { sortRun, moves } = slices;
  if (!(sortRun >= 1 && sortRun <= PACK)) throw new RangeError(`sortRun must be in [1, ${PACK}]`);
  const view = new DataView(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const compare = hashCompare(view);
  let order = new Uint32Array(n);
  // First 4 bytes of each hash, for the merges (only needed past one run).
  const lead = n > sortRun ? new Uint32Array(n) : undefined;
  const keys = new Float64Array(Math.min(n, sortRun));
  for (let from = 0; from < n; from += sortRun) {
    sortOneRun(view, compare, order, lead, keys, from, Math.min(n - from, sortRun));
    if (from + sortRun < n) yield;
  }
  if (lead !== undefined) {
    let into = new Uint32Array(n);
    for (let width = sortRun; width < n; width *= 2) {
      for (let lo = 0; lo < n; lo += 2 * width) {
        const merge = { i: lo, j: Math.min(n, lo + width), k: lo };
        const mid = merge.j;
        const hi = Math.min(n, lo + 2 * width);
        while (merge.k < hi) {
          mergeSome(order, into, lead, compare, merge, mid, hi, moves);
          yield;
        }
      }
      [order, into] = [into, order];
    }
  }
  for (let from = 1; from < n; from += moves) {
    refuseDuplicates(order, compare, from, Math.min(n, from + moves));
    if (from + moves < n) yield;
  }
  return order;
}

/** Sorts the run `[from, from + length)` into `order` (and notes each hash's first word in `lead`). */
function sortOneRun(
  view: DataView,
  compare: (a: number, b: number) => number,
  order: Uint32Array,
  lead: Uint32Array | undefined,
  keys: Float64Array,
  from: number,
  length: number,
): void {
  const runKeys = keys.subarray(0, length);
  for (let i = 0; i < length; i++) {
    const word = view.getUint32((from + i) * 32);
    if (lead !== undefined) lead[from + i] = word;
    runKeys[i] = word * PACK + i;
  }
  runKeys.sort();
  for (let i = 0; i < length; i++) order[from + i] = from + (runKeys[i]! % PACK);
  let runStart = 0;
  for (let i = 1; i <= length; i++) {
    if (i < length && Math.floor(runKeys[i]! / PACK) === Math.floor(runKeys[runStart]! / PACK)) continue;
    if (i - runStart > 1) order.subarray(from + runStart, from + i).sort(compare);
    runStart = i;
  }
}

/**
 * Moves up to `limit` indices of the sorted runs `[merge.i, mid)` and `[merge.j, hi)` of `from`
 * into `into` at `merge.k`, in order; equal hashes take the left run's first (a stable merge).
 */
function mergeSome(
  from: Uint32Array,
  into: Uint32Array,
  lead: Uint32Array,
  compare: (a: number, b: number) => number,
  merge: { i: number; j: number; k: number },
  mid: number,
  hi: number,
  limit: number,
): void {
  let { i, j, k } = merge;
  const end = Math.min(hi, k + limit);
  for (; k < end; k++) {
    if (j < hi && i < mid) {
      const a = from[i]!;
      const b = from[j]!;
      const la = lead[a]!;
      const lb = lead[b]!;
      if (lb < la || (lb === la && compare(b, a) < 0)) {
        into[k] = b;
        j++;
      } else {
        into[k] = a;
        i++;
      }
    } else if (i < mid) into[k] = from[i++]!;
    else into[k] = from[j++]!;
  }
  merge.i = i;
  merge.j = j;
  merge.k = k;
}

/** Throws if a hash in `order[from - 1, to)` equals the one before it. */
function refuseDuplicates(
  order: Uint32Array,
  compare: (a: number, b: number) => number,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const a = order[i - 1]!;
    const b = order[i]!;
    if (compare(a, b) === 0) {
      throw new RangeError(
        `buildClaimTree: duplicate relay hash (leaves ${Math.min(a, b)} and ${Math.max(a, b)})`,
      );
    }
  }
}
