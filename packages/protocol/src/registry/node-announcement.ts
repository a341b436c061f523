import { z } from "zod";
import { PoktAddress, SignatureHex } from "../crypto/index.js";
import { bytesToHex } from "../encoding/index.js";
import { fail, ok, type Result } from "../errors/index.js";
import { RelaySignerIdentity } from "../relay/envelope-fields.js";
import { parseEnvelope } from "../relay/envelope-verification.js";
import { checkNodeSignature, signNodeMessage } from "../relay/node-signed.js";
import type { RelaySigningKey } from "../relay/signing-key.js";
import { announcedText } from "./announced-text.js";
import { NodeServiceOffer, SignedNodeServiceOffer } from "./node-service-offer.js";

const endpointUrl = announcedText(2048, 0).refine(isHttpBaseUrl, {
  message: "expected an http(s) URL without credentials, query or fragment",
});

const announcementShape = <O extends typeof NodeServiceOffer | typeof SignedNodeServiceOffer>(offer: O) => ({
  v: z.literal(1),
  node: RelaySignerIdentity,
  endpoint: endpointUrl,
  operator: announcedText(64).optional(),
  services: z
    .array(offer)
    .min(1)
    .max(64)
    .refine((offers) => new Set(offers.map((o) => o.serviceId)).size === offers.length, {
      message: "serviceIds must not repeat",
    }),
  hardware: z.strictObject({
    gpu: announcedText(128, 0),
    vramGb: z.number().nonnegative().max(100_000),
    cpuOnly: z.boolean(),
  }),
  software: z.strictObject({ name: announcedText(64), version: announcedText(64) }),
  // Optional within v1: absent, an announcement hashes exactly as before, so a node older than the
  // field still verifies (see `verifyNodeAnnouncement`'s `gatewayAddress`).
  gatewayAddress: PoktAddress.optional(),
  issuedAt: z.int().nonnegative(),
});

/**
 * A node announcement before signing: everything the node's signature covers, exactly as the node
 * sent it. Closed but for the parts of each offer that are open to additions (capability flags,
 * image flags, the tokenizer kind: see `NodeCapabilities` and `NodeTokenizer`), which keep here
 * what this version does not know, so that the signature of a newer node still verifies.
 *
 * @example
 * ```ts
 * UnsignedNodeAnnouncement.safeParse(withoutTheSignature).success;
 * ```
 */
export const UnsignedNodeAnnouncement = z.strictObject(announcementShape(SignedNodeServiceOffer));

/** A parsed {@link UnsignedNodeAnnouncement}. */
export type UnsignedNodeAnnouncement = z.infer<typeof UnsignedNodeAnnouncement>;

/**
 * A node announcement as the node signed and sent it: {@link UnsignedNodeAnnouncement} and its
 * `signature`. What {@link createNodeAnnouncement} returns and {@link verifyNodeAnnouncement} checks
 * the signature of.
 *
 * @example
 * ```ts
 * const sent: SignedNodeAnnouncement = createNodeAnnouncement(fields, nodeKey);
 * ```
 */
export const SignedNodeAnnouncement = z.strictObject({
  ...announcementShape(SignedNodeServiceOffer),
  signature: SignatureHex,
});

/** A parsed {@link SignedNodeAnnouncement}. */
export type SignedNodeAnnouncement = z.infer<typeof SignedNodeAnnouncement>;

/**
 * A node's signed registration with a gateway, node → gateway, re-sent every `nextAnnounceMs` of
 * the gateway's {@link RegistrationAck}. `endpoint` is the node's tRPC base URL; `operator` is a
 * free-text operator name (self-declared, so a gateway's cap on one operator's share binds honest
 * operators only — pair it with evaluator identity checks); `services` lists each service with its
 * tiers, model, capabilities and tokenizer; `gatewayAddress` is the `pokt1…` address of the gateway
 * the node sends it to (a node signs one per gateway: another gateway refuses it, so it cannot be
 * carried to a gateway the node's operator did not choose); `issuedAt` is Unix milliseconds;
 * `signature` is the node's compact secp256k1 signature of SHA-256 of the canonical JSON of all
 * other fields. `gatewayAddress` is optional within v1: nodes older than the field send none.
 *
 * Its free text is shown as the node wrote it, on operators' pages, in terminals and in logs, so
 * each text is bounded and holds no control, format, private-use or line-separator character (no
 * line break, tab or terminal escape, no bidirectional override or zero-width character, no
 * U+2028/U+2029): `endpoint` up to 2048 UTF-16 units, `operator` 1–64, `hardware.gpu` up to 128,
 * `software.name` and `software.version` 1–64, and in each offer the model's `declared` 1–200,
 * `family` 1–64, `quantization` 1–32 and the tokenizer's `kind` 1–64. Anything else is refused as
 * MALFORMED_ENVELOPE, `param` naming the field.
 *
 * This schema reads an announcement as this version knows it: capability and image flags it does
 * not know are dropped (at most `MAX_UNKNOWN_CAPABILITY_FLAGS` of them in each offer's
 * `capabilities` and as many in its `images`), an unknown tokenizer kind reads as `estimate`. Everything else is closed
 * (an unknown field is refused; a new one needs a new `v`). Once something was dropped the
 * signature no longer covers the result: verify with {@link verifyNodeAnnouncement}, which checks
 * the signature over the announcement as sent ({@link SignedNodeAnnouncement}) and reads it after.
 *
 * @example
 * ```ts
 * const parsed = NodeAnnouncement.safeParse(JSON.parse(storedAfterVerifying));
 * ```
 */
export const NodeAnnouncement = z.strictObject({
  ...announcementShape(NodeServiceOffer),
  signature: SignatureHex,
});

/** A parsed {@link NodeAnnouncement}. */
export type NodeAnnouncement = z.infer<typeof NodeAnnouncement>;

/**
 * What a node supplies to {@link createNodeAnnouncement}: the version, node identity and signature
 * are filled in.
 *
 * @example
 * ```ts
 * const fields: NodeAnnouncementFields = { endpoint: "https://node.example/trpc", services, hardware, software, gatewayAddress: gateway.address, issuedAt: Date.now() };
 * ```
 */
export type NodeAnnouncementFields = Omit<UnsignedNodeAnnouncement, "v" | "node">;

/**
 * How old an announcement may be by default: five minutes (nodes re-announce far more often).
 *
 * @example
 * ```ts
 * verifyNodeAnnouncement(input, { now, maxAgeMs: NODE_ANNOUNCEMENT_MAX_AGE_MS / 2 });
 * ```
 */
export const NODE_ANNOUNCEMENT_MAX_AGE_MS = 300_000;

/**
 * How far in the future an announcement's `issuedAt` may be: tolerated clock skew between machines.
 *
 * @example
 * ```ts
 * NODE_ANNOUNCEMENT_MAX_SKEW_MS; // 30_000
 * ```
 */
export const NODE_ANNOUNCEMENT_MAX_SKEW_MS = 30_000;

/**
 * Builds and signs a node announcement with the node's key. Throws a `TypeError` naming the field
 * when the fields do not match {@link UnsignedNodeAnnouncement} (the node's own configuration is
 * wrong: a gateway would refuse it).
 *
 * @example
 * ```ts
 * const announcement = createNodeAnnouncement(
 *   { endpoint: "https://node.example/trpc", services, hardware, software, gatewayAddress: gateway.address, issuedAt: Date.now() },
 *   nodeKeyPair,
 * );
 * ```
 */
export function createNodeAnnouncement(
  fields: NodeAnnouncementFields,
  nodeKey: RelaySigningKey,
): SignedNodeAnnouncement {
  return signNodeMessage(UnsignedNodeAnnouncement, fields, nodeKey, "createNodeAnnouncement");
}

/**
 * When {@link verifyNodeAnnouncement} runs (`now`, Unix ms; default `Date.now()`), how old an
 * announcement may be (`maxAgeMs`; default {@link NODE_ANNOUNCEMENT_MAX_AGE_MS}) and, for a
 * gateway, its own address (`gatewayAddress`): an announcement that names another gateway is
 * refused. Without it, the gateway an announcement names is not checked.
 *
 * @example
 * ```ts
 * const options: NodeAnnouncementCheck = { now: clock.now(), maxAgeMs: 120_000, gatewayAddress: key.address };
 * ```
 */
export interface NodeAnnouncementCheck {
  readonly now?: number;
  readonly maxAgeMs?: number;
  readonly gatewayAddress?: string;
}

/**
 * Verifies an untrusted node announcement. Refusals: MALFORMED_ENVELOPE (schema, with the first
 * issue's path as `param`; detail `"stale"` and param `issuedAt` when older than `maxAgeMs`, or
 * issued more than {@link NODE_ANNOUNCEMENT_MAX_SKEW_MS} in the future), ANNOUNCEMENT_WRONG_GATEWAY
 * (it names a gateway other than `check.gatewayAddress`, param `gatewayAddress`), ADDRESS_MISMATCH
 * (the node's address is not its public key's), INVALID_SIGNATURE. A fresh signed announcement
 * cannot be replayed later to resurrect a node that left, nor, when it names its gateway, be sent
 * to another gateway; one that names none (a node older than the field) is taken, and the caller
 * sees that by its missing `gatewayAddress`. Catalog membership of the services and tiers is the
 * gateway's check. The signature is checked over the announcement as sent, flags this version
 * does not know included; only then is it read as {@link NodeAnnouncement} (those flags dropped, a
 * known flag of the wrong type refused). Returns the announcement so read and its digest (hex
 * SHA-256 of the unsigned fields as signed). Never throws.
 *
 * @example
 * ```ts
 * const checked = verifyNodeAnnouncement(input, { now: Date.now() });
 * if (!checked.ok) throw toTrpcError(checked.error);
 * register(checked.value.announcement);
 * ```
 */
export function verifyNodeAnnouncement(
  input: unknown,
  check: NodeAnnouncementCheck = {},
): Result<{ announcement: NodeAnnouncement; digest: string }> {
  const parsed = parseEnvelope(SignedNodeAnnouncement, input, "node announcement");
  if (!parsed.ok) return parsed;
  const sent = parsed.value;
  // Freshness first: it is cheap, and an old announcement needs no signature check to be refused.
  const now = check.now ?? Date.now();
  const maxAgeMs = check.maxAgeMs ?? NODE_ANNOUNCEMENT_MAX_AGE_MS;
  if (now - sent.issuedAt > maxAgeMs) return fail("MALFORMED_ENVELOPE", "stale", "issuedAt");
  if (sent.issuedAt - now > NODE_ANNOUNCEMENT_MAX_SKEW_MS) {
    return fail("MALFORMED_ENVELOPE", "node announcement: issuedAt is in the future", "issuedAt");
  }
  // As cheap, and as final: signed for another gateway, it is refused whoever signed it.
  const named = sent.gatewayAddress;
  if (check.gatewayAddress !== undefined && named !== undefined && named !== check.gatewayAddress) {
    return fail(
      "ANNOUNCEMENT_WRONG_GATEWAY",
      `node announcement: signed for gateway ${named}, sent to gateway ${check.gatewayAddress}`,
      "gatewayAddress",
    );
  }
  const signed = checkNodeSignature(sent, "node announcement");
  if (!signed.ok) return signed;
  // Signed as sent; read as this version knows it (flags of a newer version dropped) only now.
  const known = parseEnvelope(NodeAnnouncement, sent, "node announcement");
  if (!known.ok) return known;
  return ok({ announcement: known.value, digest: bytesToHex(signed.value) });
}

function isHttpBaseUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.username === "" &&
    url.password === "" &&
    url.search === "" &&
    url.hash === "" &&
    !value.includes("#") &&
    !value.includes("?")
  );
}
