export { canonicalBytes, canonicalJson, canonicalJsonWithEncoded, isCanonicalJson } from "./canonical.js";
export { bytesToHex, canonicalHash, hexToBytes, isHex, sha256, sha256Hex, sha256Parts } from "./hash.js";
