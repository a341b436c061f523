/**
 * `@pocket-ai/node` as a library: start a node inside another process (the local network, tests).
 * Operators run the CLI instead (`src/cli.ts`). Test stand-ins (fake engines, the development
 * engines) live in `@pocket-ai/node/fakes`.
 */
export {
  NodeStartError,
  nodeLayer,
  nodeWorkerLayer,
  type RunningNode,
  type StartNodeOptions,
  startNode,
} from "./app/node-app.js";
export { isNodeWorker, runNodeWorker } from "./app/node-cluster.js";
export { NodeConfig } from "./config/node-config.js";
export type { NodeInfo } from "./info/node-info.js";
