import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { claimRoot } from "./claim-root.js";
import {
  buildClaimTree,
  buildClaimTreeFrom,
  CLAIM_TREE_SLICES,
  type ClaimLeaf,
  type ClaimTree,
  type ClaimTreeSlices,
  claimTreeSteps,
} from "./claim-tree.js";

function u64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const leafDigest = (hash: Uint8Array, cu: bigint) => sha256(concat(new Uint8Array([0]), hash, u64(cu)));
const nodeDigest = (l: Uint8Array, r: Uint8Array, count: bigint, cu: bigint) =>
  sha256(concat(new Uint8Array([1]), l, r, u64(count), u64(cu)));

const relayHash = (i: number) => sha256(`relay-${i}`);

/** Arbitrary leaf sets with distinct hashes. */
const leafSets = (maxLength: number) =>
  fc
    .uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      minLength: 1,
      maxLength,
      selector: (h) => bytesToHex(h),
    })
    .chain((hashes) =>
      fc
        .array(fc.nat({ max: 1_000_000 }), { minLength: hashes.length, maxLength: hashes.length })
        .map((cus) => hashes.map((hash, i): ClaimLeaf => ({ hash, computeUnits: cus[i]! }))),
    );

describe("buildClaimTree", () => {
  it("follows the documented digest formats (3 leaves: the odd one is promoted, not duplicated)", () => {
    const leaves = [0, 1, 2].map((i) => ({ hash: relayHash(i), computeUnits: 10 * (i + 1) }));
    const sorted = [...leaves].sort((a, b) => Buffer.compare(Buffer.from(a.hash), Buffer.from(b.hash)));
    const [a, b, c] = sorted.map((l) => leafDigest(l.hash, BigInt(l.computeUnits))) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const ab = nodeDigest(a, b, 2n, BigInt(sorted[0]!.computeUnits + sorted[1]!.computeUnits));
    const root = nodeDigest(ab, c, 3n, 60n);
    expect(claimRoot(buildClaimTree(leaves))).toEqual({
      root: bytesToHex(root),
      relays: 3,
      computeUnits: "60",
    });
  });

  it("gives a one-relay claim the leaf digest as root", () => {
    const hash = relayHash(7);
    expect(claimRoot(buildClaimTree([{ hash, computeUnits: 5 }])).root).toBe(
      bytesToHex(leafDigest(hash, 5n)),
    );
  });

  it("accepts hashes as bytes or lowercase hex alike", () => {
    const bytes = [1, 2, 3].map((i) => ({ hash: relayHash(i), computeUnits: i }));
    const hex = bytes.map((l) => ({ hash: bytesToHex(l.hash), computeUnits: l.computeUnits }));
    expect(claimRoot(buildClaimTree(hex))).toEqual(claimRoot(buildClaimTree(bytes)));
  });

  it("is independent of the order leaves are given in, and sums counts and compute units", () => {
    fc.assert(
      fc.property(
        leafSets(80).chain((ls) =>
          fc.tuple(fc.constant(ls), fc.shuffledSubarray(ls, { minLength: ls.length, maxLength: ls.length })),
        ),
        ([leaves, permuted]) => {
          const root = claimRoot(buildClaimTree(leaves));
          expect(claimRoot(buildClaimTree(permuted))).toEqual(root);
          expect(root.relays).toBe(leaves.length);
          expect(root.computeUnits).toBe(String(leaves.reduce((s, l) => s + l.computeUnits, 0)));
        },
      ),
    );
  });

  it("sums compute units exactly beyond 2^53", () => {
    const big = Number.MAX_SAFE_INTEGER;
    const root = claimRoot(
      buildClaimTree([0, 1, 2, 3].map((i) => ({ hash: relayHash(i), computeUnits: big }))),
    );
    expect(root.computeUnits).toBe((BigInt(big) * 4n).toString());
  });

  it("refuses duplicates, empty claims, bad hashes and bad compute units", () => {
    const hash = relayHash(1);
    expect(() => buildClaimTree([])).toThrow(RangeError);
    expect(() =>
      buildClaimTree([
        { hash, computeUnits: 1 },
        { hash: hash.slice(), computeUnits: 2 },
      ]),
    ).toThrow(/duplicate/);
    expect(() => buildClaimTree([{ hash: hash.subarray(0, 31), computeUnits: 1 }])).toThrow(TypeError);
    expect(() => buildClaimTree([{ hash: "AB".repeat(32), computeUnits: 1 }])).toThrow(TypeError);
    expect(() => buildClaimTree([{ hash, computeUnits: -1 }])).toThrow(RangeError);
    expect(() => buildClaimTree([{ hash, computeUnits: 1.5 }])).toThrow(RangeError);
  });

  it("orders hashes that share their first bytes by the full hash", () => {
    const base = new Uint8Array(32).fill(7);
    const leaves = [31, 5, 17, 0].map((v) => {
      const h = base.slice();
      h[31] = v;
      return { hash: h, computeUnits: v };
    });
    const tree = buildClaimTree(leaves);
    expect([0, 1, 2, 3].map((i) => tree.leafHashes[i * 32 + 31])).toEqual([0, 5, 17, 31]);
  });
});

/** The tree the documented formats give, built the plain way (sorted copies, one digest at a time). */
function referenceTree(leaves: readonly { hash: Uint8Array; computeUnits: number }[]) {
  const sorted = [...leaves].sort((a, b) => Buffer.compare(Buffer.from(a.hash), Buffer.from(b.hash)));
  let level = sorted.map((l) => ({
    digest: leafDigest(l.hash, BigInt(l.computeUnits)),
    count: 1n,
    cu: BigInt(l.computeUnits),
  }));
  const levels = [level];
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      const [l, r] = [level[i]!, level[i + 1]!];
      const count = l.count + r.count;
      const cu = l.cu + r.cu;
      next.push({ digest: nodeDigest(l.digest, r.digest, count, cu), count, cu });
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    levels.push(next);
    level = next;
  }
  return {
    relays: leaves.length,
    leafHashes: concat(...sorted.map((l) => l.hash)),
    digests: levels.map((nodes) => concat(...nodes.map((node) => node.digest))),
    computeUnits: levels.map((nodes) =>
      Uint32Array.from(nodes.flatMap((node) => [Number(node.cu >> 32n), Number(node.cu & 0xffff_ffffn)])),
    ),
  };
}

/** Leaves as flat arrays, as storage gives them. */
function flat(leaves: readonly { hash: Uint8Array; computeUnits: number }[]) {
  const hashes = new Uint8Array(leaves.length * 32);
  for (const [i, l] of leaves.entries()) hashes.set(l.hash, i * 32);
  return { hashes, computeUnits: Float64Array.from(leaves, (l) => l.computeUnits) };
}

/** Runs the steps to the end; the tree and how many steps it took. */
function stepped(hashes: Uint8Array, computeUnits: Float64Array, slices?: ClaimTreeSlices) {
  const steps = claimTreeSteps(hashes, computeUnits, slices);
  let yields = 0;
  for (;;) {
    const step = steps.next();
    if (step.done === true) return { tree: step.value, yields };
    yields += 1;
  }
}

/** Leaf sets whose hashes often share their first bytes (the sort's tie path), with distinct hashes. */
const crowdedLeafSets = (maxLength: number) =>
  leafSets(maxLength).chain((leaves) =>
    fc.array(fc.nat({ max: 2 }), { minLength: leaves.length, maxLength: leaves.length }).map((prefixes) => {
      const seen = new Set<string>();
      return leaves
        .map((l, i) => {
          const hash = Uint8Array.from(l.hash as Uint8Array);
          hash.fill(prefixes[i]!, 0, 4);
          return { hash, computeUnits: l.computeUnits };
        })
        .filter((l) => {
          const key = bytesToHex(l.hash);
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
    }),
  );

const slicesArb = fc.record({
  digests: fc.integer({ min: 1, max: 5 }),
  sortRun: fc.integer({ min: 1, max: 9 }),
  moves: fc.integer({ min: 1, max: 7 }),
});

const plain = (tree: ClaimTree) => ({
  relays: tree.relays,
  leafHashes: Array.from(tree.leafHashes),
  digests: tree.digests.map((d) => Array.from(d)),
  computeUnits: tree.computeUnits.map((c) => Array.from(c)),
});

describe("buildClaimTreeFrom and claimTreeSteps (leaves in flat arrays)", () => {
  it("build the tree of buildClaimTree and of the documented formats, bit for bit, however the work is sliced", () => {
    fc.assert(
      fc.property(fc.oneof(leafSets(60), crowdedLeafSets(60)), slicesArb, (leaves, slices) => {
        const { hashes, computeUnits } = flat(leaves as { hash: Uint8Array; computeUnits: number }[]);
        const expected = plain(referenceTree(leaves as { hash: Uint8Array; computeUnits: number }[]));
        expect(plain(buildClaimTree(leaves))).toEqual(expected);
        expect(plain(buildClaimTreeFrom(hashes, computeUnits))).toEqual(expected);
        expect(plain(stepped(hashes, computeUnits, slices).tree)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("merge sorted runs of a large claim into the same root, a slice at a time", () => {
    const leaves = Array.from({ length: 3 * CLAIM_TREE_SLICES.sortRun + 5 }, (_, i) => ({
      hash: relayHash(i),
      computeUnits: i % 977,
    }));
    const { hashes, computeUnits } = flat(leaves);
    const { tree, yields } = stepped(hashes, computeUnits);
    expect(claimRoot(tree)).toEqual(claimRoot(buildClaimTree(leaves)));
    expect(bytesToHex(tree.digests[tree.digests.length - 1]!)).toBe(
      bytesToHex(referenceTree(leaves).digests.at(-1)!),
    );
    // Two digests a leaf, 2,048 a step: at least one step per 1,024 leaves.
    expect(yields).toBeGreaterThanOrEqual(Math.floor(leaves.length / 1_024));
  });

  it("refuse what buildClaimTree refuses, with the same words", () => {
    fc.assert(
      fc.property(leafSets(30), fc.nat(), fc.nat(), slicesArb, (leaves, from, to, slices) => {
        const ls = leaves as { hash: Uint8Array; computeUnits: number }[];
        // A copy of one leaf's hash at another place: the duplicate is named by the same two leaves.
        const withDuplicate = [...ls];
        withDuplicate.splice(to % (ls.length + 1), 0, { hash: ls[from % ls.length]!.hash, computeUnits: 1 });
        const { hashes, computeUnits } = flat(withDuplicate);
        const thrown = (build: () => unknown) => {
          try {
            build();
          } catch (error) {
            return error;
          }
          return undefined;
        };
        const expected = thrown(() => buildClaimTree(withDuplicate));
        expect(expected).toBeInstanceOf(RangeError);
        expect(thrown(() => buildClaimTreeFrom(hashes, computeUnits))).toEqual(expected);
        expect(thrown(() => stepped(hashes, computeUnits, slices))).toEqual(expected);
      }),
    );
    const hashes = new Uint8Array(64).fill(3);
    hashes[63] = 4;
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => buildClaimTreeFrom(hashes, Float64Array.of(1, bad))).toThrow(
        `buildClaimTree: leaf 1 computeUnits must be a safe integer >= 0, got ${bad}`,
      );
    }
    expect(() => buildClaimTreeFrom(new Uint8Array(0), new Float64Array(0))).toThrow(RangeError);
    expect(() => buildClaimTreeFrom(new Uint8Array(63), Float64Array.of(1, 2))).toThrow(TypeError);
  });
});
