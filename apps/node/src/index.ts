/**
 * `@pocket-ai/node` as a library: start a node inside another process (the local network, tests).
 * Operators run the CLI instead (`src/cli.ts`).
 */
export { NodeStartError, type RunningNode, startNode } from "./app/node-app.js";
export { NodeConfig } from "./config/node-config.js";
export type { NodeInfo } from "./info/node-info.js";
export type { NodeRouter } from "./relay/relay-router.js";
