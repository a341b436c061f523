import { join } from "node:path";
import type { KeyPair } from "@pocket-ai/protocol";
import { loadKeyFile, writeKeyFile } from "@pocket-ai/runtime";
import { Context, Effect, Layer } from "effect";
import { NodeSettings, NodeStartError } from "../app/node-settings.js";

/** The node's signing key (see `loadKeyFile`): its address is where claims are paid. */
export const loadKeyPair = (options: {
  readonly privateKey?: string | undefined;
  readonly privateKeyFile: string;
  readonly createIfMissing: boolean;
  readonly onCreate?: (file: string, address: string) => void;
  readonly onLoose?: (warning: string, file: string) => void;
}) => loadKeyFile({ ...options, generateCommand: "pocket-node keys generate --out FILE" });

export { writeKeyFile };

/** The node's key pair, from the config's key, its key file, or a new key file in the data dir. */
export class NodeIdentity extends Context.Tag("node/NodeIdentity")<
  NodeIdentity,
  { readonly key: KeyPair }
>() {
  static readonly layer = Layer.effect(
    NodeIdentity,
    Effect.gen(function* () {
      const { config, log } = yield* NodeSettings;
      const key = yield* loadKeyPair({
        privateKey: config.privateKey,
        privateKeyFile: config.privateKeyFile ?? join(config.dataDir, "node.key"),
        createIfMissing: true,
        // A new key is a new node: its address is where claims are paid, and gateways see a
        // stranger. Expected on a first start; a warning when the operator named a file that is not there.
        onCreate: (file, address) =>
          (config.privateKeyFile === undefined ? log.info : log.warn)(
            "no key file, so a new signing key was created: this node's address is new (back the file up)",
            { file, address },
          ),
        onLoose: (warning, file) => log.warn(warning, { file }),
      }).pipe(Effect.mapError((e) => new NodeStartError({ code: e.code, reason: e.reason })));
      return { key };
    }),
  );
}
