import { z } from "zod";
import { bytesToHex } from "../encoding/index.js";
import type { ClaimTree } from "./claim-tree.js";
import { formatU64, u64String } from "./u64.js";

/**
 * What a node commits to for one session: the claim tree's root digest, the number of relays and
 * the sum of their compute units. Compute units are a decimal string (u64, up to 2^64 − 1): the
 * claim stays plain JSON, so it can be signed with `canonicalJson` (which refuses bigints), sent
 * over tRPC and stored as text; convert with `BigInt(root.computeUnits)` for arithmetic.
 *
 * @example
 * ```ts
 * ClaimRootSchema.parse({ root: "ab".repeat(32), relays: 2, computeUnits: "9200" });
 * ```
 */
export const ClaimRootSchema = z.strictObject({
  root: z.string().regex(/^[0-9a-f]{64}$/),
  relays: z.number().int().min(1).max(0xffff_ffff),
  computeUnits: u64String,
});

/**
 * A parsed {@link ClaimRootSchema}.
 *
 * @example
 * ```ts
 * const claim: ClaimRoot = { root: "ab".repeat(32), relays: 1, computeUnits: "4600" };
 * ```
 */
export type ClaimRoot = z.infer<typeof ClaimRootSchema>;

/**
 * The {@link ClaimRoot} of a built tree.
 *
 * @example
 * ```ts
 * const tree = buildClaimTree([{ hash: sha256("relay"), computeUnits: 7 }]);
 * claimRoot(tree).computeUnits; // "7"
 * ```
 */
export function claimRoot(tree: ClaimTree): ClaimRoot {
  const top = tree.digests[tree.digests.length - 1]!;
  const cu = tree.computeUnits[tree.computeUnits.length - 1]!;
  return { root: bytesToHex(top), relays: tree.relays, computeUnits: formatU64(cu[0]!, cu[1]!) };
}
