import { z } from "zod";
import { PoktAddress, SignatureHex } from "../crypto/index.js";
import { bytesToHex, canonicalHash } from "../encoding/index.js";
import { addressedElsewhere } from "../errors/addressed-elsewhere.js";
import { ok, type Result } from "../errors/index.js";
import { SessionHeader } from "../session/index.js";
import { acceptsRelayRequest } from "./envelope-fast.js";
import { RelayInputCount, RelayJsonPayload, RelayOperation, RelaySignerIdentity } from "./envelope-fields.js";
import { checkEnvelopeSignature, parseEnvelope } from "./envelope-verification.js";
import { type RelaySigningKey, signingKeyPair, signValidated, withoutSignature } from "./signing-key.js";

const requestShape = {
  v: z.literal(1),
  header: SessionHeader,
  tier: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  operation: RelayOperation,
  payload: RelayJsonPayload,
  nonce: z.string().regex(/^[0-9a-f]{32}$/, { message: "expected 32 lowercase hex digits" }),
  issuedAt: z.int().nonnegative(),
  gateway: RelaySignerIdentity,
  target: PoktAddress.optional(),
  inputCount: RelayInputCount.optional(),
};

/**
 * A relay request before signing: everything the gateway's signature covers. Its canonical hash
 * is the relay's identity (see {@link relayRequestHash}).
 *
 * @example
 * ```ts
 * UnsignedRelayRequest.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedRelayRequest = z.strictObject(requestShape);

/** A parsed {@link UnsignedRelayRequest}. */
export type UnsignedRelayRequest = z.infer<typeof UnsignedRelayRequest>;

const acceptsUnsigned = (value: unknown) => acceptsRelayRequest(value, false);
const acceptsSigned = (value: unknown) => acceptsRelayRequest(value, true);

/**
 * A signed relay request, gateway → node. `tier` is the tier of the header's service that the
 * gateway sold: the node serves the relay under that tier's limits and weighs it by that tier's
 * compute units, also when it registered a dearer tier that covers it (`coveredTier`), and refuses
 * a tier none of its tiers covers (UNKNOWN_TIER). `payload` is the OpenAI request body; `nonce` (16 random
 * bytes, hex) makes every relay unique; `issuedAt` is milliseconds since the Unix epoch; `target`,
 * when present, names the only node that may serve it; `inputCount`, on text relays, is the
 * gateway's count of the input (see {@link RelayInputCount}). `signature` is the gateway's compact
 * secp256k1 signature (hex) of SHA-256 of the canonical JSON of all other fields.
 *
 * @example
 * ```ts
 * const parsed = RelayRequest.safeParse(JSON.parse(body));
 * ```
 */
export const RelayRequest = z.strictObject({ ...requestShape, signature: SignatureHex });

/** A parsed {@link RelayRequest}. */
export type RelayRequest = z.infer<typeof RelayRequest>;

/**
 * What a gateway supplies to {@link createRelayRequest}: the version, gateway identity and
 * signature are filled in, and a fresh nonce is drawn when none is given.
 *
 * @example
 * ```ts
 * const fields: RelayRequestFields = { header, tier: "standard", operation: "completions", payload, issuedAt: now };
 * ```
 */
export type RelayRequestFields = Omit<UnsignedRelayRequest, "v" | "gateway" | "nonce"> & { nonce?: string };

/**
 * A fresh relay nonce: 16 bytes from the platform's cryptographic random source, as 32 hex digits.
 *
 * @example
 * ```ts
 * generateRelayNonce().length; // 32
 * ```
 */
export function generateRelayNonce(): string {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    globalThis.crypto.getRandomValues(noncePool);
    nonceOffset = 0;
  }
  const nonce = bytesToHex(noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES));
  nonceOffset += NONCE_BYTES;
  return nonce;
}

const NONCE_BYTES = 16;
/**
 * Random bytes drawn 256 nonces at a time (one call to the random source instead of one per relay,
 * about 2 µs each); each byte is used once. Nonces are public: nothing secret sits in the pool.
 */
const noncePool = new Uint8Array(NONCE_BYTES * 256);
let nonceOffset = noncePool.length;

/**
 * Builds and signs a relay request with the gateway's key. Throws a `TypeError` naming the field
 * when the fields do not match {@link UnsignedRelayRequest} (the gateway's own mistake: a node
 * would refuse the envelope).
 *
 * @example
 * ```ts
 * const request = createRelayRequest(
 *   { header, tier: "standard", operation: "chat.completions", payload: body, issuedAt: Date.now() },
 *   gatewayKeyPair,
 * );
 * ```
 */
export function createRelayRequest(fields: RelayRequestFields, gatewayKey: RelaySigningKey): RelayRequest {
  return signRelayRequest(fields, gatewayKey, "createRelayRequest").request;
}

/**
 * {@link createRelayRequest} and {@link relayRequestHash} at once: the canonical bytes of the
 * request are encoded and hashed once, for the signature and the hash alike. `what` names the
 * caller in the `TypeError` thrown for fields that do not match {@link UnsignedRelayRequest}.
 *
 * @example
 * ```ts
 * const { request, requestHash } = signRelayRequest(
 *   { header, tier: "standard", operation: "completions", payload, issuedAt: Date.now() },
 *   gatewayKeyPair,
 * );
 * ```
 */
export function signRelayRequest(
  fields: RelayRequestFields,
  gatewayKey: RelaySigningKey,
  what = "signRelayRequest",
): { readonly request: RelayRequest; readonly requestHash: string } {
  const key = signingKeyPair(gatewayKey);
  const unsigned = {
    ...fields,
    v: 1,
    nonce: fields.nonce ?? generateRelayNonce(),
    gateway: { address: key.address, publicKey: key.publicKeyHex },
  };
  const { envelope, digest } = signValidated(UnsignedRelayRequest, unsigned, key, what, acceptsUnsigned);
  return { request: envelope, requestHash: digest };
}

/**
 * The relay's identity: lowercase hex SHA-256 of the canonical JSON of the request without its
 * signature (the digest the gateway signed). Nodes key replay detection on it; responses and
 * stream chunks carry it as `requestHash`. Re-signing a request does not change it.
 *
 * @example
 * ```ts
 * relayRequestHash(request); // "3f9a…" (64 hex digits)
 * ```
 */
export function relayRequestHash(request: RelayRequest | UnsignedRelayRequest): string {
  return bytesToHex(canonicalHash(withoutSignature(request)));
}

/**
 * What a node expects of a request it verifies: its own address, refused (ADDRESS_MISMATCH) when
 * the request carries a different `target`.
 *
 * @example
 * ```ts
 * const expect: RelayRequestExpectations = { nodeAddress: nodeKeyPair.address };
 * ```
 */
export interface RelayRequestExpectations {
  readonly nodeAddress?: string;
}

/**
 * Verifies an untrusted relay request. Refusals: MALFORMED_ENVELOPE (schema; `param` is the path
 * of the first issue), ADDRESS_MISMATCH (the gateway address is not derived from its public key,
 * or `target` names another node than `expect.nodeAddress`), INVALID_SIGNATURE. Freshness of
 * `issuedAt`, session membership, replay and whether the gateway is served are the node's checks.
 * Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyRelayRequest(JSON.parse(body), { nodeAddress: me.address });
 * if (!checked.ok) return reply(checked.error);
 * const { request, requestHash } = checked.value;
 * ```
 */
export function verifyRelayRequest(
  input: unknown,
  expect: RelayRequestExpectations = {},
): Result<{ request: RelayRequest; requestHash: string }> {
  const parsed = parseEnvelope(RelayRequest, input, "relay request", acceptsSigned);
  if (!parsed.ok) return parsed;
  const request = parsed.value;
  const checked = checkEnvelopeSignature(
    withoutSignature(request),
    request.signature,
    { ...request.gateway, field: "gateway" },
    "relay request",
  );
  if (!checked.ok) return checked;
  if (
    expect.nodeAddress !== undefined &&
    request.target !== undefined &&
    request.target !== expect.nodeAddress
  ) {
    return addressedElsewhere(
      `relay request targets ${request.target}, not ${expect.nodeAddress}`,
      "target",
      "The relay request is signed for another node (its `target`) than the one that received it. Send it to the node it targets, or sign a new request targeting this one.",
    );
  }
  return ok({ request, requestHash: bytesToHex(checked.value) });
}
