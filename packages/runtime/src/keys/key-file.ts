import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
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
import { makePrivateDir } from "../files/private-dir.js";
import type { StartCode } from "../main/start-codes.js";

/**
 * The signing key could not be loaded: no key file (`KEY_FILE_MISSING`), one that cannot be read or
 * created (`KEY_FILE_UNREADABLE`), or no valid key in it or in `privateKey` (`KEY_INVALID`). The
 * message says what to do.
 */
export class KeyFileError extends Data.TaggedError("KeyFileError")<{
  readonly code: Extract<StartCode, "KEY_FILE_MISSING" | "KEY_FILE_UNREADABLE" | "KEY_INVALID">;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.code}: ${this.reason}`;
  }
}

/**
 * An app's signing key: `privateKey` from the config (or its env override), else the key file.
 * With `createIfMissing` a missing file is generated (mode 0600), so a first local run needs no
 * manual step; production operators create the key with their CLI's `keys generate` and back the
 * file up — the address is the app's identity on the network.
 */
export function loadKeyFile(options: {
  readonly privateKey?: string | undefined;
  readonly privateKeyFile: string;
  readonly createIfMissing: boolean;
  /** The command that creates a key, named in the message when the file is missing. */
  readonly generateCommand: string;
  /** Called with the file and the new key's address when a missing file was created. */
  readonly onCreate?: ((file: string, address: string) => void) | undefined;
  /**
   * Called with a warning to log, and the file, when users other than its owner may read or write
   * it (POSIX only): anyone who reads the key can sign as this app. Not refused, because mounted
   * secrets are often 0644 inside a container that runs one user.
   */
  readonly onLoose?: ((warning: string, file: string) => void) | undefined;
}): Effect.Effect<KeyPair, KeyFileError> {
  return Effect.try({
    try: () => {
      if (options.privateKey !== undefined)
        return keyPairFromPrivateKey(privateKeyFromHex(options.privateKey));
      if (!existsSync(options.privateKeyFile)) {
        if (!options.createIfMissing) {
          throw new KeyFileError({
            code: "KEY_FILE_MISSING",
            reason: `No key file at ${options.privateKeyFile}. Create one with \`${options.generateCommand}\`.`,
          });
        }
        const created = generatePrivateKey();
        withFileErrors(options.privateKeyFile, "create", options.generateCommand, () =>
          writeKeyFile(options.privateKeyFile, created),
        );
        options.onCreate?.(options.privateKeyFile, keyPairFromPrivateKey(created).address);
      }
      const { hex, mode } = withFileErrors(options.privateKeyFile, "read", options.generateCommand, () => ({
        hex: readFileSync(options.privateKeyFile, "utf8").trim(),
        mode: statSync(options.privateKeyFile).mode & 0o777,
      }));
      if (process.platform !== "win32" && (mode & 0o077) !== 0)
        options.onLoose?.(
          `the key file can be read by other users (mode ${mode.toString(8)}): run chmod 600 on it`,
          options.privateKeyFile,
        );
      if (!isValidPrivateKeyHex(hex)) {
        throw new KeyFileError({
          code: "KEY_INVALID",
          reason: `The key file ${options.privateKeyFile} does not hold a valid hex private key.`,
        });
      }
      return keyPairFromPrivateKey(privateKeyFromHex(hex));
    },
    // What is left is a `privateKey` that is no valid key (its own message says why).
    catch: (e) =>
      e instanceof KeyFileError ? e : new KeyFileError({ code: "KEY_INVALID", reason: (e as Error).message }),
  });
}

/**
 * Runs a file operation on the key file, turning the system's error (`EISDIR: illegal operation on
 * a directory, read`, which names neither the file nor a fix) into a message that says both.
 */
function withFileErrors<A>(file: string, doing: "read" | "create", generateCommand: string, f: () => A): A {
  try {
    return f();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const fix =
      code === "EISDIR"
        ? `it is a directory: set privateKeyFile to the key file itself (\`${generateCommand}\` creates one)`
        : code === "EACCES" || code === "EPERM"
          ? doing === "read"
            ? "permission denied: run the app as the user that owns the file, or let that user read it (chmod 600 for the owner)"
            : "permission denied: choose a folder this user may write to, or create the key as its owner"
          : `${code ?? "the system refused"}: check the path and its folder`;
    throw new KeyFileError({
      code: "KEY_FILE_UNREADABLE",
      reason: `Cannot ${doing} the key file ${file}: ${fix}.`,
    });
  }
}

/**
 * Writes a private key as hex, readable by the owner only (0600), creating its missing folders for
 * the owner only (0700); never overwrites an existing file.
 */
export function writeKeyFile(file: string, privateKey: Uint8Array): void {
  makePrivateDir(dirname(file));
  writeFileSync(file, `${bytesToHex(privateKey)}\n`, { mode: 0o600, flag: "wx" });
}

/**
 * What a CLI's `keys generate --out FILE` prints when {@link writeKeyFile} threw, after its code:
 * `KEY_FILE_EXISTS` for a file that is there already (a key is never overwritten), else
 * `KEY_FILE_UNREADABLE` with the system's reason.
 */
export function keyFileWriteFailure(file: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EEXIST")
    return `KEY_FILE_EXISTS: ${file} already exists; a key is never overwritten. Choose another --out.`;
  const why =
    code === "EACCES" || code === "EPERM" ? "permission denied" : (code ?? (e as Error).message ?? String(e));
  return `KEY_FILE_UNREADABLE: cannot write ${file} (${why}): choose a path in a folder this user may write to.`;
}
