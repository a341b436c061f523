import { z } from "zod";
import { SignatureHex } from "../crypto/index.js";
import { bytesToHex, canonicalHash, canonicalJson } from "../encoding/index.js";
import { fail, ok, type Result } from "../errors/index.js";
import { SessionHeader } from "../session/index.js";
import { acceptsRelayResponse } from "./envelope-fast.js";
import {
  RelayDigestHex,
  RelayErrorBody,
  RelayJsonPayload,
  RelayOutcome,
  RelaySignerIdentity,
  RelayUsage,
} from "./envelope-fields.js";
import { checkEnvelopeSignature, parseEnvelope } from "./envelope-verification.js";
import { type RelaySigningKey, signingKeyPair, signValidated, withoutSignature } from "./signing-key.js";

const responseShape = {
  v: z.literal(1),
  requestHash: RelayDigestHex,
  header: SessionHeader,
  node: RelaySignerIdentity,
  outcome: RelayOutcome,
  payload: RelayJsonPayload.optional(),
  error: RelayErrorBody.optional(),
  usage: RelayUsage,
  computeUnits: z.int().nonnegative(),
};

/** `ok` carries a payload and no error; `error` carries an error and no payload. */
function checkOutcome(
  value: { outcome: RelayOutcome; payload?: unknown; error?: RelayErrorBody | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.outcome === "ok") {
    if (value.payload === undefined)
      ctx.addIssue({ code: "custom", path: ["payload"], message: "required when outcome is ok" });
    if (value.error !== undefined)
      ctx.addIssue({ code: "custom", path: ["error"], message: "not allowed when outcome is ok" });
  } else {
    if (value.error === undefined)
      ctx.addIssue({ code: "custom", path: ["error"], message: "required when outcome is error" });
    if (value.payload !== undefined) {
      ctx.addIssue({ code: "custom", path: ["payload"], message: "not allowed when outcome is error" });
    }
  }
}

/**
 * A relay response before signing: everything the node's signature covers.
 *
 * @example
 * ```ts
 * UnsignedRelayResponse.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedRelayResponse = z.strictObject(responseShape).superRefine(checkOutcome);

/** A parsed {@link UnsignedRelayResponse}. */
export type UnsignedRelayResponse = z.infer<typeof UnsignedRelayResponse>;

const acceptsUnsigned = (value: unknown) => acceptsRelayResponse(value, false);
const acceptsSigned = (value: unknown) => acceptsRelayResponse(value, true);

/**
 * A signed relay response, node → gateway, for a non-streamed relay. It is bound to its request by
 * `requestHash` and repeats the session `header`. On `outcome: "ok"`, `payload` is the OpenAI
 * response body; on `"error"`, `error` says why. `usage` and `computeUnits` are the work the node
 * claims for the relay (integers). `signature` is the node's compact secp256k1 signature (hex) of
 * SHA-256 of the canonical JSON of all other fields.
 *
 * @example
 * ```ts
 * const parsed = RelayResponse.safeParse(JSON.parse(body));
 * ```
 */
export const RelayResponse = z
  .strictObject({ ...responseShape, signature: SignatureHex })
  .superRefine(checkOutcome);

/** A parsed {@link RelayResponse}. */
export type RelayResponse = z.infer<typeof RelayResponse>;

/**
 * What a node supplies to {@link createRelayResponse}; the version, node identity and signature are
 * filled in.
 *
 * @example
 * ```ts
 * const fields: RelayResponseFields = { requestHash, header, outcome: "ok", payload, usage, computeUnits: 1 };
 * ```
 */
export type RelayResponseFields = Omit<UnsignedRelayResponse, "v" | "node">;

/**
 * Builds and signs a relay response with the node's key. Throws a `TypeError` naming the field when
 * the fields do not match {@link UnsignedRelayResponse} (for example `outcome: "ok"` without a
 * payload).
 *
 * @example
 * ```ts
 * const response = createRelayResponse(
 *   { requestHash, header: request.header, outcome: "ok", payload: completion,
 *     usage: { inputTokens: 12, outputTokens: 40 }, computeUnits: 52 },
 *   nodeKeyPair,
 * );
 * ```
 */
export function createRelayResponse(fields: RelayResponseFields, nodeKey: RelaySigningKey): RelayResponse {
  return signRelayResponse(fields, nodeKey, "createRelayResponse").response;
}

/**
 * {@link createRelayResponse} and {@link relayResponseHash} at once: the canonical bytes of the
 * response are encoded and hashed once, for the signature and the hash alike. `what` names the
 * caller in the `TypeError` thrown for fields that do not match {@link UnsignedRelayResponse}.
 *
 * @example
 * ```ts
 * const { response, responseHash } = signRelayResponse(
 *   { requestHash, header: request.header, outcome: "ok", payload: completion,
 *     usage: { inputTokens: 12, outputTokens: 40 }, computeUnits: 52 },
 *   nodeKeyPair,
 * );
 * ```
 */
export function signRelayResponse(
  fields: RelayResponseFields,
  nodeKey: RelaySigningKey,
  what = "signRelayResponse",
): { readonly response: RelayResponse; readonly responseHash: string } {
  const key = signingKeyPair(nodeKey);
  const node = { address: key.address, publicKey: key.publicKeyHex };
  const { envelope, digest } = signValidated(
    UnsignedRelayResponse,
    { ...fields, v: 1, node },
    key,
    what,
    acceptsUnsigned,
  );
  return { response: envelope, responseHash: digest };
}

/**
 * The response's identity: lowercase hex SHA-256 of the canonical JSON of the response without its
 * signature (the digest the node signed). With the request hash it makes the relay's claim leaf
 * (see {@link relayLeafHash}).
 *
 * @example
 * ```ts
 * relayResponseHash(response); // 64 hex digits
 * ```
 */
export function relayResponseHash(response: RelayResponse | UnsignedRelayResponse): string {
  return bytesToHex(canonicalHash(withoutSignature(response)));
}

/**
 * What a gateway expects of a response: the hash of the request it sent, the node it sent it to,
 * and the request's session header.
 *
 * @example
 * ```ts
 * const expect: RelayResponseExpectations = { requestHash, nodeAddress: node.address, header: request.header };
 * ```
 */
export interface RelayResponseExpectations {
  readonly requestHash?: string;
  readonly nodeAddress?: string;
  readonly header?: SessionHeader;
}

/**
 * Verifies an untrusted relay response. Refusals: MALFORMED_ENVELOPE (schema, with the issue path
 * as `param`; or a validly signed response that answers another request — `param` `requestHash` —
 * or another session — `param` `header`), ADDRESS_MISMATCH (the node address is not derived from
 * its public key, or is not `expect.nodeAddress` — `param` `node.address`), INVALID_SIGNATURE.
 * Expectations are checked after the signature, so their failures mean the node really signed the
 * mismatch. Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyRelayResponse(JSON.parse(body), { requestHash, nodeAddress: node.address, header });
 * if (checked.ok) forward(checked.value.response.payload);
 * ```
 */
export function verifyRelayResponse(
  input: unknown,
  expect: RelayResponseExpectations = {},
): Result<{ response: RelayResponse; responseHash: string }> {
  const parsed = parseEnvelope(RelayResponse, input, "relay response", acceptsSigned);
  if (!parsed.ok) return parsed;
  const response = parsed.value;
  const checked = checkEnvelopeSignature(
    withoutSignature(response),
    response.signature,
    { ...response.node, field: "node" },
    "relay response",
  );
  if (!checked.ok) return checked;
  if (expect.requestHash !== undefined && response.requestHash !== expect.requestHash) {
    return fail(
      "MALFORMED_ENVELOPE",
      `relay response answers request ${response.requestHash}, expected ${expect.requestHash}`,
      "requestHash",
    );
  }
  if (expect.nodeAddress !== undefined && response.node.address !== expect.nodeAddress) {
    return fail(
      "ADDRESS_MISMATCH",
      `relay response is signed by ${response.node.address}, expected ${expect.nodeAddress}`,
      "node.address",
    );
  }
  if (expect.header !== undefined && !sameJson(response.header, expect.header)) {
    return fail(
      "MALFORMED_ENVELOPE",
      "relay response carries another session header than the request",
      "header",
    );
  }
  return ok({ response, responseHash: bytesToHex(checked.value) });
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}
