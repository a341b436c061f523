#!/usr/bin/env -S npx tsx
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { findService, generatePrivateKey, keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { loadConfig, runMain } from "@pocket-ai/runtime";
import { Console, Effect, Layer } from "effect";
import { nodeLayerFromConfigFile, nodeWorkerLayer } from "./app/node-app.js";
import { isNodeWorker, runNodeWorker } from "./app/node-cluster.js";
import { NodeSettings } from "./app/node-settings.js";
import { makeBackend } from "./backends/make-backend.js";
import { formatProbeReport, probeBackend } from "./check/check-backend.js";
import { NodeConfig } from "./config/node-config.js";
import { writeKeyFile } from "./identity/node-identity.js";

const usage = `pocket-node — serve AI relays from your hardware

Usage:
  pocket-node start [--config node.yaml]     start the node (Ctrl-C drains and stops)
  pocket-node check [--config node.yaml]     probe every backend and print what it really supports
  pocket-node keys generate --out FILE       create a signing key (never overwrites) and print its address

Config: YAML or JSON (see apps/node/node.example.yaml). Any field can be overridden from the
environment: POCKET_NODE__LISTEN__PORT=9000, POCKET_NODE__PRIVATE_KEY=..., and so on.
The config path can also come from POCKET_NODE_CONFIG.`;

const parsed = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    // An unknown or incomplete option: what was wrong, and the usage, never a stack trace.
    console.error(
      `${(e as Error).message.split(". ")[0]}. Settings come from the config file and the environment (POCKET_NODE__LISTEN__PORT=8545).\n\n${usage}`,
    );
    process.exit(2);
  }
})();
const { positionals, values } = parsed;

const configFile =
  values.config ?? process.env.POCKET_NODE_CONFIG ?? (existsSync("node.yaml") ? "node.yaml" : undefined);
const config = loadConfig({ schema: NodeConfig, file: configFile, envPrefix: "POCKET_NODE" });
const command = positionals.join(" ");

if (values.help === true || command === "" || command === "help") {
  console.log(usage);
} else if (command === "start") {
  // With `workers` > 1 this script runs again in each worker the primary forks.
  if (isNodeWorker()) runNodeWorker(nodeWorkerLayer);
  else runMain(Layer.launch(nodeLayerFromConfigFile(configFile)), { app: "pocket-node" });
} else if (command === "check") {
  runMain(
    Effect.gen(function* () {
      const c = yield* config;
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
        return yield* Effect.fail(new Error(`${mismatches} backend(s) do not do what they declare`));
    }),
    { app: "pocket-node" },
  );
} else if (command === "keys generate") {
  if (values.out === undefined) {
    console.error("pocket-node: keys generate needs --out FILE");
    process.exit(2);
  }
  const key = generatePrivateKey();
  try {
    writeKeyFile(values.out, key);
  } catch (e) {
    const exists = (e as NodeJS.ErrnoException).code === "EEXIST";
    console.error(
      exists
        ? `pocket-node: ${values.out} already exists; a key is never overwritten. Choose another --out.`
        : `pocket-node: cannot write ${values.out}: ${(e as Error).message}`,
    );
    process.exit(1);
  }
  console.log(`key written to ${values.out} (mode 0600)\naddress: ${keyPairFromPrivateKey(key).address}`);
} else {
  console.error(`pocket-node: unknown command "${command}"\n\n${usage}`);
  process.exit(2);
}
