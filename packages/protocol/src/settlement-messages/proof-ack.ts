import { z } from "zod";
import type { ClaimRoot } from "../claims/index.js";
import { SignatureHex } from "../crypto/index.js";
import type { Result } from "../errors/index.js";
import { parseEnvelope } from "../relay/envelope-verification.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { checkReceipt, type ReceiptExpectations, receiptShape, signReceipt } from "./gateway-signed.js";

const proofAckShape = {
  ...receiptShape,
  status: z.enum(["proven", "rejected"]),
  mintedUpokt: z.string().regex(/^(0|[1-9][0-9]{0,29})$/, {
    message: "expected a non-negative integer in decimal, without leading zeros",
  }),
  detail: z.string().max(1024).optional(),
};

const mintsOnlyWhenProven = [
  (ack: { status: string; mintedUpokt: string }) => ack.status === "proven" || ack.mintedUpokt === "0",
  { message: "a rejected proof mints nothing", path: ["mintedUpokt"] },
] as [(ack: { status: string; mintedUpokt: string }) => boolean, { message: string; path: string[] }];

/**
 * A proof acknowledgement before signing: everything the gateway's signature covers.
 *
 * @example
 * ```ts
 * UnsignedProofAck.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedProofAck = z.strictObject(proofAckShape).refine(...mintsOnlyWhenProven);

/** A parsed {@link UnsignedProofAck}. */
export type UnsignedProofAck = z.infer<typeof UnsignedProofAck>;

/**
 * A gateway's signed answer to a {@link ProofSubmission}, gateway → node: a receipt of how the
 * claim (`nodeAddress`, `sessionId`, `root`) was settled — `proven` with the uPOKT minted for it
 * under the session's pinned price (a decimal string, since uPOKT sums outgrow 2^53; see
 * `mintForClaim`), or `rejected` with `mintedUpokt: "0"` and a `detail` saying why (the error
 * code's detail, e.g. from `verifyClaimProof`). Signed by the gateway (`gateway`), so the node
 * holds evidence of the mint it was told, and a "proven" cannot be forged on the way.
 *
 * @example
 * ```ts
 * const ack = ProofAck.parse(await gateway.settlement.submitProof.mutate(proof));
 * ack.status === "rejected" ? ack.detail : ack.mintedUpokt;
 * ```
 */
export const ProofAck = z
  .strictObject({ ...proofAckShape, signature: SignatureHex })
  .refine(...mintsOnlyWhenProven);

/** A parsed {@link ProofAck}. */
export type ProofAck = z.infer<typeof ProofAck>;

/** What a gateway supplies to {@link createProofAck}; the version, its identity and the signature are filled in. */
export interface ProofAckFields {
  readonly status: ProofAck["status"];
  readonly mintedUpokt: string;
  readonly detail?: string | undefined;
  readonly nodeAddress: string;
  readonly sessionId: string;
  readonly root: ClaimRoot;
  readonly issuedAt: number;
}

/**
 * The gateway's signed {@link ProofAck} for a settled claim. Throws a `TypeError` naming the field
 * when one is wrong (a rejection that mints, say).
 *
 * @example
 * ```ts
 * const ack = createProofAck(
 *   { status: "proven", mintedUpokt: "300000000", nodeAddress, sessionId, root, issuedAt: Date.now() },
 *   gatewayKeyPair,
 * );
 * ```
 */
export function createProofAck(fields: ProofAckFields, gatewayKey: RelaySigningKey): ProofAck {
  const { detail, ...rest } = fields;
  return signReceipt(UnsignedProofAck, detail === undefined ? rest : fields, gatewayKey, "createProofAck");
}

/**
 * Checks an untrusted {@link ProofAck} against the claim the node proved and the gateway it asked:
 * MALFORMED_ENVELOPE for a schema mismatch or another session or root; ADDRESS_MISMATCH when it is
 * signed by another gateway or for another node; INVALID_SIGNATURE. Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyProofAck(answer, { gatewayAddress, nodeAddress: me.address, sessionId, root });
 * if (checked.ok) keepReceipt(checked.value);
 * ```
 */
export function verifyProofAck(input: unknown, expect: ReceiptExpectations): Result<ProofAck> {
  const parsed = parseEnvelope(ProofAck, input, "proof ack");
  if (!parsed.ok) return parsed;
  const receipt = checkReceipt(parsed.value, expect, "proof ack");
  return receipt.ok ? parsed : receipt;
}
