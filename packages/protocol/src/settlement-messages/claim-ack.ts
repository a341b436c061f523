import { z } from "zod";
import { type ClaimRoot, proofLeafIndex } from "../claims/index.js";
import { SignatureHex } from "../crypto/index.js";
import { bytesToHex } from "../encoding/index.js";
import { fail, ok, type Result } from "../errors/index.js";
import { parseEnvelope } from "../relay/envelope-verification.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { checkReceipt, type ReceiptExpectations, receiptShape, signReceipt } from "./gateway-signed.js";

const claimAckShape = {
  ...receiptShape,
  status: z.enum(["accepted", "duplicate"]),
  proofSeed: z.string().regex(/^[0-9a-f]{64}$/, { message: "expected 64 lowercase hex digits" }),
  leafIndex: z.int().nonnegative().max(0xffff_fffe),
};

/**
 * A claim acknowledgement before signing: everything the gateway's signature covers.
 *
 * @example
 * ```ts
 * UnsignedClaimAck.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedClaimAck = z.strictObject(claimAckShape);

/** A parsed {@link UnsignedClaimAck}. */
export type UnsignedClaimAck = z.infer<typeof UnsignedClaimAck>;

/**
 * A gateway's signed answer to a stored {@link ClaimSubmission}, gateway → node: a receipt the node
 * keeps that the gateway (`gateway`, whose key signs it) holds this node's claim (`nodeAddress`,
 * `sessionId`, `root`) as of `issuedAt`:
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
 * Signed, a seed cannot be forged on the way (a plain-HTTP link), and the node holds evidence of
 * the claim the gateway took.
 *
 * @example
 * ```ts
 * const ack = ClaimAck.parse(await gateway.settlement.submitClaim.mutate(claim));
 * ```
 */
export const ClaimAck = z.strictObject({ ...claimAckShape, signature: SignatureHex });

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

/** What a gateway supplies to {@link createClaimAck}; the version, its identity, the leaf index and the signature are filled in. */
export interface ClaimAckFields {
  readonly status: ClaimAck["status"];
  readonly proofSeed: string;
  readonly nodeAddress: string;
  readonly sessionId: string;
  readonly root: ClaimRoot;
  readonly issuedAt: number;
}

/**
 * The gateway's signed {@link ClaimAck} for a stored claim: the leaf index is derived from the
 * seed and the root, never chosen. Throws a `TypeError` naming the field when one is wrong (a seed
 * that is not 64 lowercase hex digits, say).
 *
 * @example
 * ```ts
 * const ack = createClaimAck(
 *   { status: "accepted", proofSeed, nodeAddress, sessionId, root, issuedAt: Date.now() },
 *   gatewayKeyPair,
 * );
 * ack.leafIndex === proofLeafIndex(proofSeed, root); // true
 * ```
 */
export function createClaimAck(fields: ClaimAckFields, gatewayKey: RelaySigningKey): ClaimAck {
  if (!claimAckShape.proofSeed.safeParse(fields.proofSeed).success) {
    throw new TypeError("createClaimAck: proofSeed must be 64 lowercase hex digits");
  }
  const leafIndex = proofLeafIndex(fields.proofSeed, fields.root);
  return signReceipt(UnsignedClaimAck, { ...fields, leafIndex }, gatewayKey, "createClaimAck");
}

/**
 * Checks an untrusted {@link ClaimAck} against the claim the node sent and the gateway it sent it
 * to: MALFORMED_ENVELOPE for a schema mismatch, another session or root, or a `leafIndex` that is
 * not `proofLeafIndex(proofSeed, root)` (param `leafIndex`); ADDRESS_MISMATCH when it is signed by
 * another gateway or for another node; INVALID_SIGNATURE. Never throws.
 *
 * @example
 * ```ts
 * const root = claimRoot(tree);
 * const checked = verifyClaimAck(answer, { gatewayAddress, nodeAddress: me.address, sessionId, root });
 * if (checked.ok) proveClaimLeaf(tree, checked.value.leafIndex);
 * ```
 */
export function verifyClaimAck(input: unknown, expect: ReceiptExpectations): Result<ClaimAck> {
  const parsed = parseEnvelope(ClaimAck, input, "claim ack");
  if (!parsed.ok) return parsed;
  const ack = parsed.value;
  const receipt = checkReceipt(ack, expect, "claim ack");
  if (!receipt.ok) return receipt;
  let expected: number;
  try {
    expected = proofLeafIndex(ack.proofSeed, expect.root);
  } catch {
    return fail("INVALID_CLAIM", "claim ack: the claim root is malformed");
  }
  if (ack.leafIndex !== expected) {
    return fail(
      "MALFORMED_ENVELOPE",
      `claim ack: leafIndex ${ack.leafIndex} is not the seed's leaf ${expected}`,
      "leafIndex",
    );
  }
  return ok(ack);
}
