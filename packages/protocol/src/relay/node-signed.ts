import type { z } from "zod";
import type { Result } from "../errors/index.js";
import { checkEnvelopeSignature } from "./envelope-verification.js";
import { type RelaySigningKey, signingKeyPair, signValidated, withoutSignature } from "./signing-key.js";

/**
 * Builds a node-signed message (an announcement, a claim, a proof): adds `v: 1` and the node's
 * identity, validates against the unsigned schema — throwing a `TypeError` named after `caller`
 * when a field is wrong — and signs the canonical bytes.
 */
export function signNodeMessage<S extends z.ZodType<object>>(
  unsignedSchema: S,
  fields: object,
  nodeKey: RelaySigningKey,
  caller: string,
): z.output<S> & { signature: string } {
  const key = signingKeyPair(nodeKey);
  const node = { address: key.address, publicKey: key.publicKeyHex };
  return signValidated(unsignedSchema, { ...fields, v: 1, node }, key, caller).envelope;
}

/**
 * Checks a parsed node-signed message: the node's address is its public key's and the signature
 * covers the message without it. Returns the message's digest (the canonical hash it signs).
 */
export function checkNodeSignature(
  message: {
    readonly node: { readonly address: string; readonly publicKey: string };
    readonly signature: string;
  },
  what: string,
): Result<Uint8Array> {
  return checkEnvelopeSignature(
    withoutSignature(message),
    message.signature,
    { ...message.node, field: "node" },
    what,
  );
}
