import { z } from "zod";
import { bytesToHex } from "../encoding/index.js";
import type { ClaimTree } from "./claim-tree.js";
import { formatU64, u64String } from "./u64.js";

const hex32 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The proof that one leaf is in a claimed tree: the leaf (relay hash and compute units) and its
 * path to the root, bottom-up. Each path step is the sibling subtree met on the way up: its
 * digest, its relay count, its compute-unit sum (decimal u64 string) and the side it sits on.
 * Levels where the leaf's ancestor is a promoted lone node have no step. Plain JSON throughout.
 *
 * @example
 * ```ts
 * ClaimProofSchema.parse({
 *   leafIndex: 0,
 *   leaf: { hash: "11".repeat(32), computeUnits: 10 },
 *   path: [{ digest: "22".repeat(32), count: 1, computeUnits: "20", side: "right" }],
 * });
 * ```
 */
export const ClaimProofSchema = z.strictObject({
  leafIndex: z.number().int().nonnegative().max(0xffff_fffe),
  leaf: z.strictObject({
    hash: hex32,
    computeUnits: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  }),
  path: z
    .array(
      z.strictObject({
        digest: hex32,
        count: z.number().int().min(1).max(0xffff_ffff),
        computeUnits: u64String,
        side: z.enum(["left", "right"]),
      }),
    )
    .max(32),
});

/**
 * A parsed {@link ClaimProofSchema}.
 *
 * @example
 * ```ts
 * const proof: ClaimProof = proveClaimLeaf(tree, 0);
 * ```
 */
export type ClaimProof = z.infer<typeof ClaimProofSchema>;

/**
 * The proof for the leaf at `index` (canonical order, `0 <= index < tree.relays`). Throws
 * `RangeError` for an index outside the tree.
 *
 * @example
 * ```ts
 * const tree = buildClaimTree(leaves);
 * const index = proofLeafIndex(seedHex, claimRoot(tree));
 * const proof = proveClaimLeaf(tree, index);
 * verifyClaimProof(claimRoot(tree), proof, index).ok; // true
 * ```
 */
export function proveClaimLeaf(tree: ClaimTree, index: number): ClaimProof {
  if (!Number.isInteger(index) || index < 0 || index >= tree.relays) {
    throw new RangeError(`proveClaimLeaf: index ${index} is outside [0, ${tree.relays})`);
  }
  const path: ClaimProof["path"] = [];
  let i = index;
  let width = tree.relays;
  let span = 1;
  for (let level = 0; width > 1; level++) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < width) {
      const digests = tree.digests[level]!;
      const cu = tree.computeUnits[level]!;
      path.push({
        digest: bytesToHex(digests.subarray(sibling * 32, sibling * 32 + 32)),
        count: Math.min((sibling + 1) * span, tree.relays) - sibling * span,
        computeUnits: formatU64(cu[2 * sibling]!, cu[2 * sibling + 1]!),
        side: sibling < i ? "left" : "right",
      });
    }
    i = Math.floor(i / 2);
    width = Math.ceil(width / 2);
    span *= 2;
  }
  const leafCu = tree.computeUnits[0]!;
  return {
    leafIndex: index,
    leaf: {
      hash: bytesToHex(tree.leafHashes.subarray(index * 32, index * 32 + 32)),
      computeUnits: leafCu[2 * index]! * 0x1_0000_0000 + leafCu[2 * index + 1]!,
    },
    path,
  };
}
