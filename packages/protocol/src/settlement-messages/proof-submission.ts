import { z } from "zod";
import { ClaimProofSchema, type ClaimRoot, verifyClaimProof } from "../claims/index.js";
import { PoktAddress, SignatureHex } from "../crypto/index.js";
import { bytesToHex } from "../encoding/index.js";
import { addressedElsewhere } from "../errors/addressed-elsewhere.js";
import { fail, ok, type Result } from "../errors/index.js";
import { RelaySignerIdentity } from "../relay/envelope-fields.js";
import { parseEnvelope } from "../relay/envelope-verification.js";
import { checkNodeSignature, signNodeMessage } from "../relay/node-signed.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { SessionHeader } from "../session/index.js";
import type { SettlementExpectations } from "./claim-submission.js";

const proofSubmissionShape = {
  v: z.literal(1),
  node: RelaySignerIdentity,
  gatewayAddress: PoktAddress,
  sessionId: SessionHeader.shape.sessionId,
  proof: ClaimProofSchema,
  issuedAt: z.int().nonnegative(),
};

/**
 * A proof submission before signing: everything the node's signature covers.
 *
 * @example
 * ```ts
 * UnsignedProofSubmission.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedProofSubmission = z.strictObject(proofSubmissionShape);

/** A parsed {@link UnsignedProofSubmission}. */
export type UnsignedProofSubmission = z.infer<typeof UnsignedProofSubmission>;

/**
 * A node's proof of the leaf a {@link ClaimAck} asked for, node → gateway: the session (by id; the
 * gateway finds the stored claim by node and session), the {@link ClaimProof} of leaf
 * `ClaimAck.leafIndex`, the gateway it is addressed to, `issuedAt` in Unix ms, and the node's
 * signature of SHA-256 of the canonical JSON of all other fields. Answered with a {@link ProofAck}.
 *
 * @example
 * ```ts
 * const parsed = ProofSubmission.safeParse(JSON.parse(body));
 * ```
 */
export const ProofSubmission = z.strictObject({ ...proofSubmissionShape, signature: SignatureHex });

/** A parsed {@link ProofSubmission}. */
export type ProofSubmission = z.infer<typeof ProofSubmission>;

/**
 * What a node supplies to {@link createProofSubmission}: the version, node identity and signature
 * are filled in.
 *
 * @example
 * ```ts
 * const fields: ProofSubmissionFields = { gatewayAddress, sessionId, proof: proveClaimLeaf(tree, ack.leafIndex), issuedAt: Date.now() };
 * ```
 */
export type ProofSubmissionFields = Omit<UnsignedProofSubmission, "v" | "node">;

/**
 * Builds and signs a proof submission with the node's key. Throws a `TypeError` naming the field
 * when the fields do not match {@link UnsignedProofSubmission}.
 *
 * @example
 * ```ts
 * const proof = createProofSubmission(
 *   { gatewayAddress, sessionId: header.sessionId, proof: proveClaimLeaf(tree, ack.leafIndex), issuedAt: Date.now() },
 *   nodeKeyPair,
 * );
 * ```
 */
export function createProofSubmission(
  fields: ProofSubmissionFields,
  nodeKey: RelaySigningKey,
): ProofSubmission {
  return signNodeMessage(UnsignedProofSubmission, fields, nodeKey, "createProofSubmission");
}

/**
 * What a gateway expects of a proof submission: its own address, and — to check the proof itself
 * in the same call — the stored claim root with the leaf index its {@link ClaimAck} gave.
 *
 * @example
 * ```ts
 * const expect: ProofSubmissionExpectations = { gatewayAddress: me.address, claim: stored.root, leafIndex: stored.leafIndex };
 * ```
 */
export interface ProofSubmissionExpectations extends SettlementExpectations {
  readonly claim?: ClaimRoot;
  readonly leafIndex?: number;
}

/**
 * Verifies an untrusted proof submission. Refusals: MALFORMED_ENVELOPE (schema), ADDRESS_MISMATCH
 * (node address not its key's, or another gateway than `expect.gatewayAddress`),
 * INVALID_SIGNATURE, and — when `expect.claim` is given — INVALID_PROOF from
 * {@link verifyClaimProof} (wrong leaf, path or sums; pass `expect.leafIndex` so the node cannot
 * prove a leaf of its choosing). Returns the submission and its digest. Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyProofSubmission(input, { gatewayAddress: me.address, claim: stored.root, leafIndex: stored.leafIndex });
 * if (checked.ok) mint(stored);
 * ```
 */
export function verifyProofSubmission(
  input: unknown,
  expect: ProofSubmissionExpectations = {},
): Result<{ submission: ProofSubmission; digest: string }> {
  const parsed = parseEnvelope(ProofSubmission, input, "proof submission");
  if (!parsed.ok) return parsed;
  const submission = parsed.value;
  const signed = checkNodeSignature(submission, "proof submission");
  if (!signed.ok) return signed;
  if (expect.gatewayAddress !== undefined && submission.gatewayAddress !== expect.gatewayAddress) {
    return addressedElsewhere(
      `proof submission is addressed to ${submission.gatewayAddress}, not ${expect.gatewayAddress}`,
      "gatewayAddress",
      "The proof is addressed to another gateway than the one that received it. Submit it to the gateway its gatewayAddress names, the one that acknowledged the claim.",
    );
  }
  if (expect.claim !== undefined) {
    const proven = verifyClaimProof(expect.claim, submission.proof, expect.leafIndex);
    if (!proven.ok) {
      const { detail, param } = proven.error;
      return fail(
        proven.error.code,
        detail === undefined ? undefined : `proof submission: ${detail}`,
        param === undefined ? undefined : `proof.${param}`,
      );
    }
  }
  return ok({ submission, digest: bytesToHex(signed.value) });
}
