import { z } from "zod";
import { type ClaimRoot, ClaimRootSchema } from "../claims/index.js";
import { PoktAddress } from "../crypto/index.js";
import { fail, ok, type Result } from "../errors/index.js";
import { RelaySignerIdentity } from "../relay/envelope-fields.js";
import { checkIdentifiedSignature, signIdentified } from "../relay/node-signed.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { SessionHeader } from "../session/index.js";

/**
 * The fields every gateway-signed settlement receipt (a {@link ClaimAck} or {@link ProofAck})
 * carries: the gateway that signs it, the node and session it answers, the claim root it is about,
 * and when it was signed. They tie a receipt to one claim: it cannot be shown for another node,
 * session or root, nor passed off as another gateway's.
 */
export const receiptShape = {
  v: z.literal(1),
  gateway: RelaySignerIdentity,
  nodeAddress: PoktAddress,
  sessionId: SessionHeader.shape.sessionId,
  root: ClaimRootSchema,
  issuedAt: z.int().nonnegative(),
};

/** What a receipt's signed fields say about the claim it answers (see {@link receiptShape}). */
export interface ReceiptSubject {
  readonly nodeAddress: string;
  readonly sessionId: string;
  readonly root: ClaimRoot;
}

/** What the node holding a receipt knows it must say: the gateway it asked, and its own claim. */
export interface ReceiptExpectations extends ReceiptSubject {
  readonly gatewayAddress: string;
}

/** Builds a gateway-signed receipt (see `signIdentified`: the gateway's identity under `gateway`). */
export function signReceipt<S extends z.ZodType<object>>(
  unsignedSchema: S,
  fields: object,
  gatewayKey: RelaySigningKey,
  caller: string,
): z.output<S> & { signature: string } {
  return signIdentified("gateway", unsignedSchema, fields, gatewayKey, caller);
}

const sameRoot = (a: ClaimRoot, b: ClaimRoot) =>
  a.root === b.root && a.relays === b.relays && a.computeUnits === b.computeUnits;

/**
 * Checks a parsed receipt: signed by the gateway it names (INVALID_SIGNATURE, or ADDRESS_MISMATCH
 * when its address is not its key's), that gateway the expected one and the node the expected one
 * (ADDRESS_MISMATCH), and about the expected session and root (MALFORMED_ENVELOPE).
 */
export function checkReceipt(
  receipt: ReceiptSubject & {
    readonly gateway: { readonly address: string; readonly publicKey: string };
    readonly signature: string;
  },
  expect: ReceiptExpectations,
  what: string,
): Result<true> {
  const signed = checkIdentifiedSignature("gateway", receipt, what);
  if (!signed.ok) return signed;
  if (receipt.gateway.address !== expect.gatewayAddress)
    return fail(
      "ADDRESS_MISMATCH",
      `${what} is signed by ${receipt.gateway.address}, not the gateway asked (${expect.gatewayAddress})`,
      "gateway.address",
    );
  if (receipt.nodeAddress !== expect.nodeAddress)
    return fail(
      "ADDRESS_MISMATCH",
      `${what} is for node ${receipt.nodeAddress}, not this one`,
      "nodeAddress",
    );
  if (receipt.sessionId !== expect.sessionId)
    return fail("MALFORMED_ENVELOPE", `${what} is for session ${receipt.sessionId}`, "sessionId");
  if (!sameRoot(receipt.root, expect.root))
    return fail("MALFORMED_ENVELOPE", `${what} is about another claim root`, "root");
  return ok(true);
}
