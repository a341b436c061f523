import {
  bytesToHex,
  isValidPrivateKeyHex,
  type KeyPair,
  keyPairFromPrivateKey,
  sha256,
} from "@pocket-ai/protocol";

const DOMAIN = "pocket-ai/gateway/application-key/v1";

/**
 * The secp256k1 key pair of an application, derived — never stored — from the gateway's secret
 * seed and the application id: `sha256(domain ‖ 0 ‖ seed ‖ 0 ‖ appId ‖ 0 ‖ counter)`, the first
 * valid scalar for counter = 0, 1, … (a hash above the curve order has probability ~2^-128).
 *
 * Why derived: the gateway delegates for its applications, so nobody outside needs the private
 * key, and a database dump holds no keys. The address is also stored at creation so that it stays
 * fixed (and searchable) even if the seed is rotated; rotating the seed only changes addresses of
 * applications created afterwards.
 */
export function applicationKeyPair(seed: Uint8Array, applicationId: string): KeyPair {
  const encoder = new TextEncoder();
  const parts = [encoder.encode(DOMAIN), seed, encoder.encode(applicationId)];
  for (let counter = 0; ; counter++) {
    const material = concat([
      ...parts.flatMap((p) => [p, new Uint8Array([0])]),
      encoder.encode(String(counter)),
    ]);
    const digest = sha256(material);
    if (isValidPrivateKeyHex(bytesToHex(digest))) return keyPairFromPrivateKey(digest);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
