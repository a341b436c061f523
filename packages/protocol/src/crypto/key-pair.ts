import { addressFromPublicKey } from "./address.js";
import { generatePrivateKey, publicKeyHexFromPrivateKey } from "./private-key.js";

/**
 * A signing identity: the private key with the public key (compressed, lowercase hex) and the
 * `pokt1…` address derived from it. Gateways, nodes and the evaluator each hold one.
 *
 * @example
 * ```ts
 * const { address, publicKeyHex } = generateKeyPair();
 * ```
 */
export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKeyHex: string;
  readonly address: string;
}

/**
 * The {@link KeyPair} of a private key. Throws a `TypeError` when the key is not a valid scalar.
 *
 * @example
 * ```ts
 * const node = keyPairFromPrivateKey(privateKeyFromHex(config.nodeKeyHex));
 * node.address; // "pokt1…"
 * ```
 */
export function keyPairFromPrivateKey(privateKey: Uint8Array): KeyPair {
  const publicKeyHex = publicKeyHexFromPrivateKey(privateKey);
  return { privateKey, publicKeyHex, address: addressFromPublicKey(publicKeyHex) };
}

/**
 * A fresh random {@link KeyPair} (see `generatePrivateKey`).
 *
 * @example
 * ```ts
 * generateKeyPair().address.startsWith("pokt1"); // true
 * ```
 */
export function generateKeyPair(): KeyPair {
  return keyPairFromPrivateKey(generatePrivateKey());
}
