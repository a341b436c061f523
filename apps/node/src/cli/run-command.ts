import { existsSync } from "node:fs";
import { findService, generatePrivateKey, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { keyFileWriteFailure, loadConfig, runMain, StartFailure } from "@pocket-ai/runtime";
import { Console, Effect, Layer } from "effect";
import { nodeLayerFromConfigFile, nodeWorkerLayer } from "../app/node-app.js";
import { isNodeWorker, runNodeWorker } from "../app/node-cluster.js";
import { NodeSettings } from "../app/node-settings.js";
import { makeBackend } from "../backends/make-backend.js";
import { formatProbeReport, probeBackend } from "../check/check-backend.js";
import { NodeConfig } from "../config/node-config.js";
import { writeKeyFile } from "../identity/node-identity.js";
import type { Command } from "./cli-arguments.js";

/** Runs one of the CLI's commands with its checked arguments (see `cli.ts`). */
export function runCommand(command: Command): void {
  if (command.name === "keys generate") {
    generateKey(command.out);
    return;
  }
  const configFile =
    command.config ?? process.env.POCKET_NODE_CONFIG ?? (existsSync("node.yaml") ? "node.yaml" : undefined);
  if (command.name === "start") {
    // With `workers` > 1 this script runs again in each worker the primary forks.
    if (isNodeWorker()) runNodeWorker(nodeWorkerLayer);
    else runMain(Layer.launch(nodeLayerFromConfigFile(configFile)), { app: "pocket-node" });
    return;
  }
  runMain(check(configFile), { app: "pocket-node" });
}

/** `pocket-node check`: probes every configured backend and prints what it really supports. */
function check(configFile: string | undefined) {
  return Effect.gen(function* () {
    const c = yield* loadConfig({ schema: NodeConfig, file: configFile, envPrefix: "POCKET_NODE" });
    // The catalog `start` serves from: the default one with the config's own services and tiers.
    const { catalog } = yield* Effect.provide(NodeSettings, NodeSettings.layer(c));
    let mismatches = 0;
    for (const service of c.services) {
      const spec = findService(catalog, service.serviceId);
      const serviceKind = spec?.kind ?? "text";
      for (const b of service.backends) {
        // A backend that cannot start (no model file, no GGUF binding) is a failed check, with its reason.
        const made = yield* Effect.either(Effect.try(() => makeBackend(b, serviceKind)));
        if (made._tag === "Left") {
          mismatches += 1;
          const cause = made.left.error;
          const reason = cause instanceof Error ? cause.message : String(cause);
          yield* Console.log(`\n${service.serviceId} — ${b.kind}\ncannot start: ${reason}`);
          continue;
        }
        const backend = made.right;
        const report = yield* probeBackend(backend, b, serviceKind);
        if (!report.ok) mismatches += 1;
        yield* Console.log(`\n${service.serviceId} — ${backend.id}\n${formatProbeReport(report)}`);
      }
    }
    // A backend that does not do what it declares fails the check, so `check` can gate a deploy.
    if (mismatches > 0)
      return yield* new StartFailure({
        code: "BACKEND_CHECK_FAILED",
        reason: `${mismatches} backend(s) do not do what they declare: fix each one the report above marks, then run the check again`,
      });
  });
}

function generateKey(out: string): void {
  const key = generatePrivateKey();
  try {
    writeKeyFile(out, key);
  } catch (e) {
    console.error(`pocket-node: ${keyFileWriteFailure(out, e)}`);
    process.exit(1);
  }
  console.log(`key written to ${out} (mode 0600)\naddress: ${keyPairFromPrivateKey(key).address}`);
}
