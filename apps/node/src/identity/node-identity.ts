import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  bytesToHex,
  generatePrivateKey,
  isValidPrivateKeyHex,
  type KeyPair,
  keyPairFromPrivateKey,
  privateKeyFromHex,
} from "@pocket-ai/protocol";
import { Data, Effect } from "effect";

export class KeyError extends Data.TaggedError("KeyError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason;
  }
}

/**
 * The node's signing key: from `privateKey` in the config (or its env override), else from the
 * key file. With `createIfMissing`, a missing key file is generated (mode 0600) — the local
 * network and first runs need no manual step; production operators run `keys generate` first.
 */
export function loadKeyPair(options: {
  readonly privateKey?: string | undefined;
  readonly privateKeyFile: string;
  readonly createIfMissing: boolean;
}): Effect.Effect<KeyPair, KeyError> {
  return Effect.try({
    try: () => {
      if (options.privateKey !== undefined)
        return keyPairFromPrivateKey(privateKeyFromHex(options.privateKey));
      if (!existsSync(options.privateKeyFile)) {
        if (!options.createIfMissing) {
          throw new Error(
            `No key file at ${options.privateKeyFile}. Create one with \`pocket-node keys generate\`.`,
          );
        }
        writeKeyFile(options.privateKeyFile, generatePrivateKey());
      }
      const hex = readFileSync(options.privateKeyFile, "utf8").trim();
      if (!isValidPrivateKeyHex(hex))
        throw new Error(`The key file ${options.privateKeyFile} does not hold a valid hex private key.`);
      return keyPairFromPrivateKey(privateKeyFromHex(hex));
    },
    catch: (e) => new KeyError({ reason: (e as Error).message }),
  });
}

/** Writes a private key as hex, readable by the owner only; refuses to overwrite. */
export function writeKeyFile(file: string, privateKey: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${bytesToHex(privateKey)}\n`, { mode: 0o600, flag: "wx" });
}
