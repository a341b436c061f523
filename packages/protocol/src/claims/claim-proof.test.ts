import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha256 } from "../encoding/index.js";
import { type ClaimProof, ClaimProofSchema, proveClaimLeaf } from "./claim-proof.js";
import { type ClaimRoot, ClaimRootSchema, claimRoot } from "./claim-root.js";
import { buildClaimTree, type ClaimTree } from "./claim-tree.js";
import { verifyClaimProof } from "./verify-claim-proof.js";

function treeOf(size: number, salt: string, cu: (i: number) => number = (i) => (i * 37) % 5000): ClaimTree {
  return buildClaimTree(
    Array.from({ length: size }, (_, i) => ({ hash: sha256(`${salt}-${i}`), computeUnits: cu(i) })),
  );
}

const flipHex = (hex: string, at: number) =>
  hex.slice(0, at) + (hex[at] === "0" ? "1" : "0") + hex.slice(at + 1);

const clone = (p: ClaimProof): ClaimProof => structuredClone(p);

describe("claim proofs", () => {
  it("verify for every leaf of random trees of 1..300 relays", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.string(), (size, salt) => {
        const tree = treeOf(size, salt);
        const root = claimRoot(tree);
        for (let i = 0; i < size; i++) {
          const r = verifyClaimProof(root, proveClaimLeaf(tree, i), i);
          if (!r.ok) throw new Error(`leaf ${i} of ${size}: ${r.error.detail}`);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("round-trip through JSON and the zod schemas", () => {
    const tree = treeOf(37, "json", () => Number.MAX_SAFE_INTEGER);
    const root = ClaimRootSchema.parse(JSON.parse(JSON.stringify(claimRoot(tree))));
    const proof = ClaimProofSchema.parse(JSON.parse(JSON.stringify(proveClaimLeaf(tree, 36))));
    expect(root.computeUnits).toBe((BigInt(Number.MAX_SAFE_INTEGER) * 37n).toString());
    expect(verifyClaimProof(root, proof, 36)).toEqual({ ok: true, value: true });
  });

  it("fail on any altered leaf hash, leaf CU, path digest, sum, count or side", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 300 })
          .chain((size) => fc.tuple(fc.constant(size), fc.nat({ max: size - 1 }))),
        fc.nat(),
        ([size, index], pick) => {
          const tree = treeOf(size, "tamper");
          const root = claimRoot(tree);
          const proof = proveClaimLeaf(tree, index);
          const step = pick % proof.path.length;
          const altered: ClaimProof[] = [];
          let p = clone(proof);
          p.leaf.hash = flipHex(p.leaf.hash, pick % 64);
          altered.push(p);
          p = clone(proof);
          p.leaf.computeUnits += 1;
          altered.push(p);
          p = clone(proof);
          p.path[step]!.digest = flipHex(p.path[step]!.digest, pick % 64);
          altered.push(p);
          p = clone(proof);
          p.path[step]!.computeUnits = (BigInt(p.path[step]!.computeUnits) + 1n).toString();
          altered.push(p);
          p = clone(proof);
          p.path[step]!.count += 1;
          altered.push(p);
          p = clone(proof);
          p.path[step]!.side = p.path[step]!.side === "left" ? "right" : "left";
          altered.push(p);
          p = clone(proof);
          p.path.pop();
          altered.push(p);
          p = clone(proof);
          p.path.push(proof.path[0]!);
          altered.push(p);
          for (const bad of altered) expect(verifyClaimProof(root, bad).ok).toBe(false);
          expect(verifyClaimProof(root, proof).ok).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("fail against an altered root, relay count or compute-unit total", () => {
    const tree = treeOf(10, "root");
    const root = claimRoot(tree);
    const proof = proveClaimLeaf(tree, 3);
    const bad: ClaimRoot[] = [
      { ...root, root: flipHex(root.root, 5) },
      { ...root, relays: 11 },
      { ...root, relays: 9 },
      { ...root, computeUnits: (BigInt(root.computeUnits) + 1n).toString() },
    ];
    for (const b of bad) expect(verifyClaimProof(b, proof).ok).toBe(false);
  });

  it("bind the proof to the requested leaf", () => {
    const tree = treeOf(10, "index");
    const root = claimRoot(tree);
    const r = verifyClaimProof(root, proveClaimLeaf(tree, 4), 5);
    expect(r.ok ? null : r.error.code).toBe("INVALID_PROOF");
    const moved = { ...proveClaimLeaf(tree, 4), leafIndex: 5 };
    expect(verifyClaimProof(root, moved).ok).toBe(false);
  });

  it("refuse zero-count or padded siblings even with consistent digests", () => {
    // A node that claims 2 relays but commits one real leaf plus an empty subtree.
    const tree = treeOf(1, "pad");
    const proof = proveClaimLeaf(tree, 0);
    const fake = { digest: "00".repeat(32), count: 0, computeUnits: "0", side: "right" as const };
    expect(verifyClaimProof({ ...claimRoot(tree), relays: 2 }, { ...proof, path: [fake] }).ok).toBe(false);
  });

  it("never throw on malformed input", () => {
    const tree = treeOf(5, "junk");
    const root = claimRoot(tree);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (a, b) => {
        expect(verifyClaimProof(a as ClaimRoot, b as ClaimProof).ok).toBe(false);
        expect(verifyClaimProof(root, a as ClaimProof).ok).toBe(false);
      }),
    );
    const r = verifyClaimProof({ ...root, computeUnits: "01" }, proveClaimLeaf(tree, 0));
    expect(r.ok ? null : r.error.code).toBe("INVALID_CLAIM");
  });

  it("refuse an index outside the tree when proving", () => {
    const tree = treeOf(3, "range");
    expect(() => proveClaimLeaf(tree, 3)).toThrow(RangeError);
    expect(() => proveClaimLeaf(tree, -1)).toThrow(RangeError);
    expect(bytesToHex(tree.leafHashes.subarray(0, 32))).toBe(proveClaimLeaf(tree, 0).leaf.hash);
  });
});
