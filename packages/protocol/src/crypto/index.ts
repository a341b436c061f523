export {
  addressFromPublicKey,
  addressMatchesPublicKey,
  isValidAddress,
  POKT_ADDRESS_PREFIX,
  PoktAddress,
  PublicKeyHex,
  SignatureHex,
} from "./address.js";
export { generateKeyPair, type KeyPair, keyPairFromPrivateKey } from "./key-pair.js";
export {
  generatePrivateKey,
  isValidPrivateKeyHex,
  privateKeyFromHex,
  publicKeyFromPrivateKey,
  publicKeyHexFromPrivateKey,
} from "./private-key.js";
export { secp256k1Implementation } from "./secp256k1-backend.js";
export { signCanonical, signDigest, verifyCanonical, verifyDigest } from "./signature.js";
