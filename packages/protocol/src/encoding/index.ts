export { canonicalBytes, canonicalJson } from "./canonical.js";
export { bytesToHex, canonicalHash, hexToBytes, isHex, sha256, sha256Hex } from "./hash.js";
