export { canonicalBytes, canonicalJson, canonicalJsonWithEncoded } from "./canonical.js";
export { bytesToHex, canonicalHash, hexToBytes, isHex, sha256, sha256Hex, sha256Parts } from "./hash.js";
