import { z } from "zod";
import { PoktAddress, SignatureHex } from "../crypto/index.js";
import { ok, protocolError, type Result } from "../errors/index.js";
import { RelayDigestHex, RelaySignerIdentity } from "../relay/envelope-fields.js";
import { parseEnvelope } from "../relay/envelope-verification.js";
import { checkIdentifiedSignature, signIdentified } from "../relay/node-signed.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { SessionHeader } from "../session/index.js";

const count = z.int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A receipt that pays nothing (`computeUnits: 0`) pays no output either. */
const voidPaysNothing = [
  (receipt: { outputTokens: number; computeUnits: number }) =>
    receipt.computeUnits > 0 || receipt.outputTokens === 0,
  { message: "a receipt of 0 compute units pays no output tokens", path: ["outputTokens"] },
] as [
  (receipt: { outputTokens: number; computeUnits: number }) => boolean,
  { message: string; path: string[] },
];

const cutReceiptShape = {
  v: z.literal(1),
  gateway: RelaySignerIdentity,
  nodeAddress: PoktAddress,
  sessionId: SessionHeader.shape.sessionId,
  requestHash: RelayDigestHex,
  chain: RelayDigestHex,
  outputTokens: count,
  computeUnits: count,
  issuedAt: z.int().nonnegative(),
};

/**
 * A stream cut receipt before signing: everything the gateway's signature covers.
 *
 * @example
 * ```ts
 * UnsignedStreamCutReceipt.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedStreamCutReceipt = z.strictObject(cutReceiptShape).refine(...voidPaysNothing);

/** A parsed {@link UnsignedStreamCutReceipt}. */
export type UnsignedStreamCutReceipt = z.infer<typeof UnsignedStreamCutReceipt>;

/**
 * A gateway's signed word, gateway → node, that a streamed relay its client left mid-way is in
 * the gateway's ledger as paid work: the client was billed for what reached it as far as the
 * node's signed chain head `chain` covers it (`outputTokens`), and the relay weighs
 * `computeUnits` in the node's claim for session `sessionId`, under the leaf
 * `relayLeafHash(requestHash, chain)`. Without it the node, which cannot know how far its stream
 * got, could only drop the relay from its claim (unpaid work) or guess a leaf the gateway never
 * recorded (a proof that picks it is rejected). The weight is the gateway's to set, as what it
 * pays is (see `cutStreamComputeUnits`): a gateway that overstated it would only raise its own
 * operator's burn. Signed, so nobody but the relay's gateway can make a node claim a leaf.
 *
 * A receipt of `computeUnits: 0` (and `outputTokens: 0`; `chain` is then the request hash) says
 * the gateway paid nothing of the stream: its client left before a signed head covered anything it
 * read. A node that finished the stream meanwhile must then leave it out of its claim, since the
 * gateway's ledger does not hold its leaf.
 *
 * @example
 * ```ts
 * const receipt = createStreamCutReceipt(
 *   { nodeAddress, sessionId, requestHash, chain, outputTokens: 12, computeUnits: 90, issuedAt: Date.now() },
 *   gatewayKeyPair,
 * );
 * ```
 */
export const StreamCutReceipt = z
  .strictObject({ ...cutReceiptShape, signature: SignatureHex })
  .refine(...voidPaysNothing);

/** A parsed {@link StreamCutReceipt}. */
export type StreamCutReceipt = z.infer<typeof StreamCutReceipt>;

/** What a gateway supplies to {@link createStreamCutReceipt}; the version, its identity and the signature are filled in. */
export interface StreamCutReceiptFields {
  readonly nodeAddress: string;
  readonly sessionId: string;
  readonly requestHash: string;
  readonly chain: string;
  readonly outputTokens: number;
  readonly computeUnits: number;
  readonly issuedAt: number;
}

/**
 * The gateway's signed {@link StreamCutReceipt}. Throws a `TypeError` naming the field when one is
 * wrong (output paid with a weight of 0, say).
 *
 * @example
 * ```ts
 * const receipt = createStreamCutReceipt(fields, gatewayKeyPair);
 * await node.settleCut.mutate(receipt);
 * ```
 */
export function createStreamCutReceipt(
  fields: StreamCutReceiptFields,
  gatewayKey: RelaySigningKey,
): StreamCutReceipt {
  return signIdentified(
    "gateway",
    UnsignedStreamCutReceipt,
    fields,
    gatewayKey,
    "createStreamCutReceipt",
  ) as StreamCutReceipt;
}

/** What a gateway is told when its receipt names another node than the one it reached. */
const OTHER_NODE_GUIDANCE =
  "The stream cut receipt is made out to another node than the one that received it. Send it to the node its nodeAddress names, the one that served the stream: a node takes only receipts made out to its own address.";

/**
 * Checks an untrusted {@link StreamCutReceipt} sent to the node `nodeAddress`: MALFORMED_ENVELOPE
 * for a schema mismatch, INVALID_SIGNATURE (or ADDRESS_MISMATCH when the gateway's address is not
 * its key's), ADDRESS_MISMATCH when it is for another node (its `message` then says so, instead
 * of the code's guidance about keys). Whether the gateway is the relay's own is the node's to
 * check against its ledger. Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyStreamCutReceipt(input, { nodeAddress: me.address });
 * if (checked.ok && checked.value.gateway.address === row.gatewayAddress) settle(checked.value);
 * ```
 */
export function verifyStreamCutReceipt(
  input: unknown,
  expect: { readonly nodeAddress: string },
): Result<StreamCutReceipt> {
  const parsed = parseEnvelope(StreamCutReceipt, input, "stream cut receipt");
  if (!parsed.ok) return parsed;
  const receipt = parsed.value;
  const signed = checkIdentifiedSignature("gateway", receipt, "stream cut receipt");
  if (!signed.ok) return signed;
  if (receipt.nodeAddress !== expect.nodeAddress)
    return {
      ok: false,
      error: {
        ...protocolError(
          "ADDRESS_MISMATCH",
          `stream cut receipt is for node ${receipt.nodeAddress}, not this one (${expect.nodeAddress})`,
          "nodeAddress",
        ),
        // Not the code's usual case (an address not derived from its key): say what this one is.
        message: OTHER_NODE_GUIDANCE,
      },
    };
  return ok(receipt);
}
