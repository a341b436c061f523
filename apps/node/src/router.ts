/**
 * The node's tRPC router type, for gateways that call nodes with a typed tRPC client:
 * `import type { NodeRouter } from "@pocket-ai/node/router"`. Types only: nothing runs on import.
 */
/// <reference path="./tokens/mistral-tokenizer-js.d.ts" />
export type { NodeRouter } from "./relay/relay-router.js";
