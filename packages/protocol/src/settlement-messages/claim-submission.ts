import { z } from "zod";
import { ClaimRootSchema } from "../claims/index.js";
import { PoktAddress, SignatureHex } from "../crypto/index.js";
import { bytesToHex } from "../encoding/index.js";
import { addressedElsewhere } from "../errors/addressed-elsewhere.js";
import { ok, type Result } from "../errors/index.js";
import { RelaySignerIdentity } from "../relay/envelope-fields.js";
import { parseEnvelope } from "../relay/envelope-verification.js";
import { checkNodeSignature, signNodeMessage } from "../relay/node-signed.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { SessionHeader } from "../session/index.js";

const claimSubmissionShape = {
  v: z.literal(1),
  node: RelaySignerIdentity,
  gatewayAddress: PoktAddress,
  header: SessionHeader,
  root: ClaimRootSchema,
  issuedAt: z.int().nonnegative(),
};

/**
 * A claim submission before signing: everything the node's signature covers.
 *
 * @example
 * ```ts
 * UnsignedClaimSubmission.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedClaimSubmission = z.strictObject(claimSubmissionShape);

/** A parsed {@link UnsignedClaimSubmission}. */
export type UnsignedClaimSubmission = z.infer<typeof UnsignedClaimSubmission>;

/**
 * A node's claim for one session, node → gateway: the session header its relays were bound to,
 * the claim tree's root (`root`, `relays`, `computeUnits`), the gateway it is addressed to (so it
 * cannot be replayed at another gateway), `issuedAt` in Unix ms, and the node's compact secp256k1
 * signature of SHA-256 of the canonical JSON of all other fields. The gateway answers with a
 * {@link ClaimAck}.
 *
 * @example
 * ```ts
 * const parsed = ClaimSubmission.safeParse(JSON.parse(body));
 * ```
 */
export const ClaimSubmission = z.strictObject({ ...claimSubmissionShape, signature: SignatureHex });

/** A parsed {@link ClaimSubmission}. */
export type ClaimSubmission = z.infer<typeof ClaimSubmission>;

/**
 * What a node supplies to {@link createClaimSubmission}: the version, node identity and signature
 * are filled in.
 *
 * @example
 * ```ts
 * const fields: ClaimSubmissionFields = { gatewayAddress, header, root: claimRoot(tree), issuedAt: Date.now() };
 * ```
 */
export type ClaimSubmissionFields = Omit<UnsignedClaimSubmission, "v" | "node">;

/**
 * Builds and signs a claim submission with the node's key. Throws a `TypeError` naming the field
 * when the fields do not match {@link UnsignedClaimSubmission}.
 *
 * @example
 * ```ts
 * const claim = createClaimSubmission(
 *   { gatewayAddress: ack.gatewayAddress, header, root: claimRoot(tree), issuedAt: Date.now() },
 *   nodeKeyPair,
 * );
 * ```
 */
export function createClaimSubmission(
  fields: ClaimSubmissionFields,
  nodeKey: RelaySigningKey,
): ClaimSubmission {
  return signNodeMessage(UnsignedClaimSubmission, fields, nodeKey, "createClaimSubmission");
}

/**
 * What a gateway expects of a settlement message it verifies: its own address, refused
 * (ADDRESS_MISMATCH, param `gatewayAddress`) when the message names another gateway.
 *
 * @example
 * ```ts
 * const expect: SettlementExpectations = { gatewayAddress: gatewayKeyPair.address };
 * ```
 */
export interface SettlementExpectations {
  readonly gatewayAddress?: string;
}

/**
 * Verifies an untrusted claim submission. Refusals: MALFORMED_ENVELOPE (schema; `param` is the
 * path of the first issue), ADDRESS_MISMATCH (the node's address is not its public key's, or the
 * claim names another gateway than `expect.gatewayAddress`), INVALID_SIGNATURE. Whether the session
 * is one this gateway ran, the claim window, duplicates and the totals against the gateway's own
 * ledger (see {@link checkClaimAgainstLedger}) are the gateway's next checks. Returns the
 * submission and its digest (hex SHA-256 of the unsigned fields). Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyClaimSubmission(input, { gatewayAddress: me.address });
 * if (!checked.ok) return refuse(checked.error);
 * const { submission, digest } = checked.value;
 * ```
 */
export function verifyClaimSubmission(
  input: unknown,
  expect: SettlementExpectations = {},
): Result<{ submission: ClaimSubmission; digest: string }> {
  const parsed = parseEnvelope(ClaimSubmission, input, "claim submission");
  if (!parsed.ok) return parsed;
  const submission = parsed.value;
  const signed = checkNodeSignature(submission, "claim submission");
  if (!signed.ok) return signed;
  if (expect.gatewayAddress !== undefined && submission.gatewayAddress !== expect.gatewayAddress) {
    return addressedElsewhere(
      `claim submission is addressed to ${submission.gatewayAddress}, not ${expect.gatewayAddress}`,
      "gatewayAddress",
      "The claim is addressed to another gateway than the one that received it. Submit it to the gateway its gatewayAddress names, the one that sent the session's relays.",
    );
  }
  return ok({ submission, digest: bytesToHex(signed.value) });
}
