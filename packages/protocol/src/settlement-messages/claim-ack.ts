import { z } from "zod";
import { type ClaimRoot, proofLeafIndex } from "../claims/index.js";
import { bytesToHex } from "../encoding/index.js";
import { fail, ok, type Result } from "../errors/index.js";
import { parseEnvelope } from "../relay/envelope-verification.js";

/**
 * A gateway's answer to a stored {@link ClaimSubmission}, gateway → node:
 * - `status`: `accepted` (stored now) or `duplicate` (the same claim was stored before; the ack
 *   repeats the seed drawn then — a fresh seed per resubmission would let a node resubmit until it
 *   is asked for a leaf it likes). A different root for the same node and session is not acked: it
 *   is refused with DUPLICATE_CLAIM.
 * - `proofSeed`: 32 random bytes (64 lowercase hex) the gateway draws only after the claim is
 *   stored. The leaf to prove must be chosen from data that did not exist when the node committed
 *   to its root: had the node known the seed, it could have built a tree holding one honest leaf
 *   at the index it would be asked for and padding everywhere else.
 * - `leafIndex`: `proofLeafIndex(proofSeed, root)`, the leaf the node must prove; anyone holding
 *   the seed and the root recomputes it (see {@link verifyClaimAck}).
 *
 * @example
 * ```ts
 * ClaimAck.parse({ status: "accepted", proofSeed: "5e".repeat(32), leafIndex: 3 });
 * ```
 */
export const ClaimAck = z.strictObject({
  status: z.enum(["accepted", "duplicate"]),
  proofSeed: z.string().regex(/^[0-9a-f]{64}$/, { message: "expected 64 lowercase hex digits" }),
  leafIndex: z.int().nonnegative().max(0xffff_fffe),
});

/** A parsed {@link ClaimAck}. */
export type ClaimAck = z.infer<typeof ClaimAck>;

/**
 * A fresh proof seed: 32 bytes from the platform's cryptographic random source, as 64 hex digits.
 * Draw it after the claim is stored, and store it with the claim (a duplicate gets the same one).
 *
 * @example
 * ```ts
 * generateProofSeed().length; // 64
 * ```
 */
export function generateProofSeed(): string {
  return bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The gateway's {@link ClaimAck} for a stored claim: the leaf index is derived from the seed and
 * the root, never chosen. Throws a `TypeError` when the seed is not 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * const ack = createClaimAck("accepted", stored.proofSeed, stored.root);
 * ack.leafIndex === proofLeafIndex(stored.proofSeed, stored.root); // true
 * ```
 */
export function createClaimAck(status: ClaimAck["status"], proofSeed: string, root: ClaimRoot): ClaimAck {
  if (!ClaimAck.shape.proofSeed.safeParse(proofSeed).success) {
    throw new TypeError("createClaimAck: proofSeed must be 64 lowercase hex digits");
  }
  return { status, proofSeed, leafIndex: proofLeafIndex(proofSeed, root) };
}

/**
 * Checks an untrusted {@link ClaimAck} against the root the node claimed: MALFORMED_ENVELOPE for a
 * schema mismatch, or when `leafIndex` is not `proofLeafIndex(proofSeed, root)` (param
 * `leafIndex`) — the node then proves the leaf the seed selects, not one the gateway picked.
 * Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyClaimAck(await gateway.settlement.claim.mutate(claim), claimRoot(tree));
 * if (checked.ok) proveClaimLeaf(tree, checked.value.leafIndex);
 * ```
 */
export function verifyClaimAck(input: unknown, root: ClaimRoot): Result<ClaimAck> {
  const parsed = parseEnvelope(ClaimAck, input, "claim ack");
  if (!parsed.ok) return parsed;
  let expected: number;
  try {
    expected = proofLeafIndex(parsed.value.proofSeed, root);
  } catch {
    return fail("INVALID_CLAIM", "claim ack: the claim root is malformed");
  }
  if (parsed.value.leafIndex !== expected) {
    return fail(
      "MALFORMED_ENVELOPE",
      `claim ack: leafIndex ${parsed.value.leafIndex} is not the seed's leaf ${expected}`,
      "leafIndex",
    );
  }
  return ok(parsed.value);
}
