/**
 * `@pocket-ai/protocol`: the data and pure functions shared by every Pocket AI gateway, node,
 * evaluator, explorer or tally — whoever writes them. No I/O happens here.
 *
 * @packageDocumentation
 */
export * from "./budget/index.js";
export * from "./catalog/index.js";
export * from "./claims/index.js";
export * from "./crypto/index.js";
export * from "./encoding/index.js";
export * from "./errors/index.js";
export * from "./openai/index.js";
export * from "./pricing/index.js";
export * from "./registry/index.js";
export * from "./relay/index.js";
export * from "./scores/index.js";
export * from "./session/index.js";
export * from "./settlement-messages/index.js";
export * from "./traffic/index.js";

/** The protocol version carried by every relay envelope; bumped on any incompatible change. */
export const PROTOCOL_VERSION = 1 as const;
