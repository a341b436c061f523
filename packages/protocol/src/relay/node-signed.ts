import type { z } from "zod";
import type { Result } from "../errors/index.js";
import { checkEnvelopeSignature } from "./envelope-verification.js";
import { type RelaySigningKey, signingKeyPair, signValidated, withoutSignature } from "./signing-key.js";

/**
 * Builds a message signed by the party named in its `field` (`node`: an announcement, a claim, a
 * proof; `gateway`: a settlement receipt): adds `v: 1` and the signer's identity
 * (`{address, publicKey}`) under `field`, validates against the unsigned schema — throwing a
 * `TypeError` named after `caller` when a field is wrong — and signs the canonical bytes.
 */
export function signIdentified<S extends z.ZodType<object>>(
  field: "node" | "gateway",
  unsignedSchema: S,
  fields: object,
  key: RelaySigningKey,
  caller: string,
): z.output<S> & { signature: string } {
  const pair = signingKeyPair(key);
  const identity = { address: pair.address, publicKey: pair.publicKeyHex };
  return signValidated(unsignedSchema, { ...fields, v: 1, [field]: identity }, pair, caller).envelope;
}

/**
 * Checks a parsed message signed by the party named in its `field`: that party's address is its
 * public key's and the signature covers the message without it. Returns the message's digest.
 */
export function checkIdentifiedSignature<F extends "node" | "gateway">(
  field: F,
  message: { readonly [K in F]: { readonly address: string; readonly publicKey: string } } & {
    readonly signature: string;
  },
  what: string,
): Result<Uint8Array> {
  const signer = message[field] as { readonly address: string; readonly publicKey: string };
  return checkEnvelopeSignature(withoutSignature(message), message.signature, { ...signer, field }, what);
}

/** {@link signIdentified} for a node-signed message (an announcement, a claim, a proof). */
export function signNodeMessage<S extends z.ZodType<object>>(
  unsignedSchema: S,
  fields: object,
  nodeKey: RelaySigningKey,
  caller: string,
): z.output<S> & { signature: string } {
  return signIdentified("node", unsignedSchema, fields, nodeKey, caller);
}

/** {@link checkIdentifiedSignature} for a node-signed message. Returns its digest. */
export function checkNodeSignature(
  message: {
    readonly node: { readonly address: string; readonly publicKey: string };
    readonly signature: string;
  },
  what: string,
): Result<Uint8Array> {
  return checkIdentifiedSignature("node", message, what);
}
