export {
  MAX_COUNTED_PROMPTS,
  RelayDigestHex,
  RelayErrorBody,
  RelayInputCount,
  RelayJsonPayload,
  RelayOperation,
  RelayOutcome,
  RelaySignerIdentity,
  RelayUsage,
} from "./envelope-fields.js";
export { relayLeafHash } from "./relay-leaf.js";
export {
  createRelayRequest,
  generateRelayNonce,
  RelayRequest,
  type RelayRequestExpectations,
  type RelayRequestFields,
  relayRequestHash,
  signRelayRequest,
  UnsignedRelayRequest,
  verifyRelayRequest,
} from "./relay-request.js";
export {
  createRelayResponse,
  RelayResponse,
  type RelayResponseExpectations,
  type RelayResponseFields,
  relayResponseHash,
  signRelayResponse,
  UnsignedRelayResponse,
  verifyRelayResponse,
} from "./relay-response.js";
export {
  createRelayStreamChunk,
  RelayStreamChunk,
  type RelayStreamChunkFields,
  RelayStreamFinal,
  relayStreamChain,
  UnsignedRelayStreamChunk,
} from "./relay-stream-chunk.js";
export { type HeadCadence, RelayStreamSigner } from "./relay-stream-signer.js";
export { RelayStreamVerifier } from "./relay-stream-verifier.js";
export type { RelaySigningKey } from "./signing-key.js";
export { type RelayStreamChunkExpectations, verifyRelayStreamChunk } from "./verify-relay-stream-chunk.js";
