// The node's composition root (`pnpm start`; `pocket-node start` runs the same layer).
import { parseArgs } from "node:util";
import { runMain } from "@pocket-ai/runtime";
import { Layer } from "effect";
import { nodeLayerFromConfigFile, nodeWorkerLayer } from "./app/node-app.js";
import { isNodeWorker, runNodeWorker } from "./app/node-cluster.js";

const { values } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: false });
const file = typeof values.config === "string" ? values.config : undefined;
// With `workers` > 1 this script runs again in each worker the primary forks.
if (isNodeWorker()) runNodeWorker(nodeWorkerLayer);
else runMain(Layer.launch(nodeLayerFromConfigFile(file)), { app: "pocket-node" });
