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

export class GatewayKeyError extends Data.TaggedError("GatewayKeyError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason;
  }
}

/**
 * The gateway's signing key: `privateKey` from the config (or its env override), else the key
 * file. With `createIfMissing` a missing file is generated (mode 0600), so a first local run needs
 * no manual step; production operators run `pocket-gateway keys generate` and back the file up —
 * nodes only serve the address they were configured with.
 */
export function loadGatewayKey(options: {
  readonly privateKey?: string | undefined;
  readonly privateKeyFile: string;
  readonly createIfMissing: boolean;
}): Effect.Effect<KeyPair, GatewayKeyError> {
  return Effect.try({
    try: () => {
      if (options.privateKey !== undefined)
        return keyPairFromPrivateKey(privateKeyFromHex(options.privateKey));
      if (!existsSync(options.privateKeyFile)) {
        if (!options.createIfMissing) {
          throw new Error(
            `No key file at ${options.privateKeyFile}. Create one with \`pocket-gateway keys generate\`.`,
          );
        }
        writeGatewayKeyFile(options.privateKeyFile, generatePrivateKey());
      }
      const hex = readFileSync(options.privateKeyFile, "utf8").trim();
      if (!isValidPrivateKeyHex(hex))
        throw new Error(`The key file ${options.privateKeyFile} does not hold a valid hex private key.`);
      return keyPairFromPrivateKey(privateKeyFromHex(hex));
    },
    catch: (e) => new GatewayKeyError({ reason: (e as Error).message }),
  });
}

/** Writes a private key as hex, readable by the owner only; never overwrites an existing file. */
export function writeGatewayKeyFile(file: string, privateKey: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${bytesToHex(privateKey)}\n`, { mode: 0o600, flag: "wx" });
}
