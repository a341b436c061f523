/**
 * Child process: a Pocket AI node in its default configuration (signed answers, relay ledger in
 * SQLite, claim loop on) in front of the mock backend through the `vllm` adapter, registered with
 * the benchmark's gateways. Reports `{ url, address }` once it serves. `--workers <n>` runs it as
 * a node of n worker processes (docs/node-workers.md).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isNodeWorker, NodeConfig, nodeWorkerLayer, runNodeWorker, startNode } from "@pocket-ai/node";
import { Effect, Exit, Scope } from "effect";
import { onStopMessage, reportFailure, reportReady } from "./child-ipc.js";

const { values } = parseArgs({
  options: {
    "gateway-trpc": { type: "string", multiple: true },
    "gateway-address": { type: "string", multiple: true },
    "backend-url": { type: "string" },
    workers: { type: "string", default: "1" },
  },
});

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "pocket-bench-node-"));
  const config = NodeConfig.parse({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir,
    gateways: (values["gateway-trpc"] ?? []).map((url, i) => ({
      url,
      address: values["gateway-address"]?.[i],
    })),
    workers: Number(values.workers),
    services: [
      {
        serviceId: "llama-2-13b",
        tiers: ["standard", "long-context"],
        // Declared as a production Llama 2 node declares it (node.example.yaml): input tokens are
        // then counted in-process, as vLLM would count them.
        model: { declared: "meta-llama/Llama-2-13b-chat-hf", family: "llama-2", quantization: "none" },
        // Wide enough that the benchmark measures the relay path, not the node's backend queue.
        backends: [
          { kind: "vllm", url: values["backend-url"], model: "mock", maxConcurrency: 1024, maxQueue: 10_000 },
        ],
      },
    ],
    logLevel: "warn",
    shutdownDrainMs: 1_000,
  });
  const scope = Effect.runSync(Scope.make());
  const node = await Effect.runPromise(startNode(config).pipe(Scope.extend(scope)));
  onStopMessage(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    rmSync(dataDir, { recursive: true, force: true });
  });
  reportReady({ url: node.url, address: node.key.address });
}

// With `--workers` > 1 the node forks this script again for each worker.
if (isNodeWorker()) runNodeWorker(nodeWorkerLayer);
else main().catch(reportFailure);
