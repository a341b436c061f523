/**
 * `@pocket-ai/node` as a library: start a node inside another process (the local network, tests).
 * Operators run the CLI instead (`src/cli.ts`).
 */
export {
  NodeStartError,
  nodeLayer,
  type RunningNode,
  type StartNodeOptions,
  startNode,
} from "./app/node-app.js";
export type { Backend, BackendError } from "./backends/backend.js";
export { makeDevBackend } from "./backends/dev/dev-backend.js";
export {
  createDevImageEngine,
  createDevTextEngine,
  type DevImageEngine,
  type DevTextEngine,
} from "./backends/dev/index.js";
export { makeGgufBackend } from "./backends/gguf/gguf-backend.js";
export { type ImageSize, parseSize, resizeRgba } from "./backends/outpaint-canvas.js";
export { NodeConfig } from "./config/node-config.js";
export { GatewayCallError, type GatewayClient, makeGatewayClient } from "./gateway-link/gateway-client.js";
export type { NodeInfo } from "./info/node-info.js";
