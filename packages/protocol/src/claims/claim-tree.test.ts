import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { claimRoot } from "./claim-root.js";
import { buildClaimTree, type ClaimLeaf } from "./claim-tree.js";

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
