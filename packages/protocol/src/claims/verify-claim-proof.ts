import { fail, ok, type Result } from "../errors/index.js";
import { leafDigestInto, leafHashArea, nodeChildArea, nodeDigestInPlace } from "./claim-digest.js";
import type { ClaimProof } from "./claim-proof.js";
import type { ClaimRoot } from "./claim-root.js";
import { decodeHexInto, parsedU64, parseU64 } from "./u64.js";

const TWO_32 = 0x1_0000_0000;
const current = new Uint8Array(32);
const expectedRoot = new Uint8Array(32);

/**
 * Checks a {@link ClaimProof} against a {@link ClaimRoot}. It recomputes the leaf digest, then each
 * parent from the path, summing counts and compute units itself (sums are never taken from the
 * proof), and requires:
 * - the leaf index is in `[0, relays)` and equals `expectedIndex` when given (pass the index from
 *   {@link proofLeafIndex}, so the node cannot pick which leaf it proves);
 * - the path has exactly the shape the relay count implies: a step per level where the leaf's
 *   ancestor has a sibling, on the side the index implies, whose count is the number of leaves
 *   that sibling covers — no padding, shortening or zero-count siblings;
 * - the recomputed root digest and compute-unit sum equal the claim's.
 *
 * Never throws, whatever the input: a malformed root gives `INVALID_CLAIM`, anything wrong with the
 * proof gives `INVALID_PROOF` with a detail and the offending field in `param`.
 *
 * Note what one proof shows: that one leaf, chosen after the claim, is in the committed tree. A
 * node that inflated a subtree's compute-unit sum is caught only when the chosen leaf falls under
 * that subtree; settlement therefore caps compute units at `relays × computeUnitsPerRelay` (see
 * {@link mintForClaim}), and a gateway that keeps its own relay log should compare totals too.
 *
 * @example
 * ```ts
 * const index = proofLeafIndex(seedHex, root);
 * const r = verifyClaimProof(root, proveClaimLeaf(tree, index), index);
 * if (!r.ok) console.log(r.error.code, r.error.detail); // "INVALID_PROOF", "…"
 * ```
 */
export function verifyClaimProof(root: ClaimRoot, proof: ClaimProof, expectedIndex?: number): Result<true> {
  if (typeof root !== "object" || root === null) return fail("INVALID_CLAIM", "claim root is not an object");
  const relays = root.relays;
  if (!Number.isInteger(relays) || relays < 1 || relays > 0xffff_ffff) {
    return fail("INVALID_CLAIM", "relays must be an integer in [1, 2^32 - 1]", "relays");
  }
  if (typeof root.root !== "string" || !decodeHexInto(root.root, 32, expectedRoot, 0)) {
    return fail("INVALID_CLAIM", "root must be 64 lowercase hex characters", "root");
  }
  if (typeof root.computeUnits !== "string" || !parseU64(root.computeUnits)) {
    return fail("INVALID_CLAIM", "computeUnits must be a decimal u64 string", "computeUnits");
  }
  const rootHi = parsedU64[0]!;
  const rootLo = parsedU64[1]!;

  if (typeof proof !== "object" || proof === null) return fail("INVALID_PROOF", "proof is not an object");
  const index = proof.leafIndex;
  if (!Number.isInteger(index) || index < 0 || index >= relays) {
    return fail("INVALID_PROOF", `leafIndex ${String(index)} is outside [0, ${relays})`, "leafIndex");
  }
  if (expectedIndex !== undefined && index !== expectedIndex) {
    return fail(
      "INVALID_PROOF",
      `proof is for leaf ${index}; leaf ${expectedIndex} was requested`,
      "leafIndex",
    );
  }
  const leaf = proof.leaf;
  if (typeof leaf !== "object" || leaf === null) return fail("INVALID_PROOF", "leaf is missing", "leaf");
  if (typeof leaf.hash !== "string" || !decodeHexInto(leaf.hash, 32, leafHashArea, 1)) {
    return fail("INVALID_PROOF", "leaf hash must be 64 lowercase hex characters", "leaf.hash");
  }
  const leafCu = leaf.computeUnits;
  if (!Number.isSafeInteger(leafCu) || leafCu < 0) {
    return fail("INVALID_PROOF", "leaf computeUnits must be a safe integer >= 0", "leaf.computeUnits");
  }
  let cuHi = Math.floor(leafCu / TWO_32);
  let cuLo = leafCu >>> 0;
  leafDigestInto(cuHi, cuLo, current, 0);

  const path = proof.path;
  if (!Array.isArray(path)) return fail("INVALID_PROOF", "path must be an array", "path");
  let used = 0;
  let i = index;
  let width = relays;
  let span = 1;
  let count = 1;
  while (width > 1) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < width) {
      const step: unknown = path[used];
      if (typeof step !== "object" || step === null) {
        return fail(
          "INVALID_PROOF",
          `path ends after ${used} steps; the relay count needs more`,
          `path[${used}]`,
        );
      }
      const { digest, count: stepCount, computeUnits, side } = step as ClaimProof["path"][number];
      const left = sibling < i;
      if (side !== (left ? "left" : "right")) {
        return fail(
          "INVALID_PROOF",
          `sibling must be on the ${left ? "left" : "right"}`,
          `path[${used}].side`,
        );
      }
      const expectedCount = Math.min((sibling + 1) * span, relays) - sibling * span;
      if (stepCount !== expectedCount) {
        return fail(
          "INVALID_PROOF",
          `sibling covers ${expectedCount} relays, proof says ${String(stepCount)}`,
          `path[${used}].count`,
        );
      }
      if (typeof computeUnits !== "string" || !parseU64(computeUnits)) {
        return fail(
          "INVALID_PROOF",
          "computeUnits must be a decimal u64 string",
          `path[${used}].computeUnits`,
        );
      }
      cuLo += parsedU64[1]!;
      cuHi += parsedU64[0]!;
      if (cuLo >= TWO_32) {
        cuLo -= TWO_32;
        cuHi += 1;
      }
      if (cuHi >= TWO_32)
        return fail("INVALID_PROOF", "compute units overflow u64", `path[${used}].computeUnits`);
      const siblingAt = left ? 1 : 33;
      if (typeof digest !== "string" || !decodeHexInto(digest, 32, nodeChildArea, siblingAt)) {
        return fail("INVALID_PROOF", "digest must be 64 lowercase hex characters", `path[${used}].digest`);
      }
      const currentAt = left ? 33 : 1;
      for (let b = 0; b < 32; b++) nodeChildArea[currentAt + b] = current[b]!;
      count += expectedCount;
      nodeDigestInPlace(count, cuHi, cuLo, current, 0);
      used++;
    }
    i = Math.floor(i / 2);
    width = Math.ceil(width / 2);
    span *= 2;
  }
  if (path.length !== used) {
    return fail(
      "INVALID_PROOF",
      `path has ${path.length} steps; a claim of ${relays} relays needs ${used}`,
      "path",
    );
  }
  for (let b = 0; b < 32; b++) {
    if (current[b] !== expectedRoot[b])
      return fail("INVALID_PROOF", "path does not lead to the claimed root", "path");
  }
  if (cuHi !== rootHi || cuLo !== rootLo) {
    return fail(
      "INVALID_PROOF",
      "compute units along the path do not sum to the claimed total",
      "computeUnits",
    );
  }
  return ok(true);
}
