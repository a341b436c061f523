import {
  bytesToHex,
  canonicalHash,
  type KeyPair,
  type RelayResponse,
  type RelayResponseFields,
  signDigest,
  UnsignedRelayResponse,
} from "@pocket-ai/protocol";

/**
 * `createRelayResponse` then `relayResponseHash`, with the canonical bytes encoded and hashed once:
 * the same schema check (a throw when the fields do not fit), the same signed digest — which is
 * the response's hash.
 */
export function signAnswer(
  fields: RelayResponseFields,
  key: KeyPair,
): { readonly response: RelayResponse; readonly responseHash: string } {
  const parsed = UnsignedRelayResponse.safeParse({
    ...fields,
    v: 1,
    node: { address: key.address, publicKey: key.publicKeyHex },
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(`signAnswer: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid fields"}`);
  }
  const digest = canonicalHash(parsed.data);
  return {
    response: { ...parsed.data, signature: bytesToHex(signDigest(digest, key.privateKey)) },
    responseHash: bytesToHex(digest),
  };
}
