// The node's composition root (`pnpm start`; `pocket-node start` runs the same layer).
import { parseArgs } from "node:util";
import { runMain } from "@pocket-ai/runtime";
import { Layer } from "effect";
import { nodeLayerFromConfigFile } from "./app/node-app.js";

const { values } = parseArgs({ options: { config: { type: "string", short: "c" } }, strict: false });
const file = typeof values.config === "string" ? values.config : undefined;
runMain(Layer.launch(nodeLayerFromConfigFile(file)), { app: "pocket-node" });
