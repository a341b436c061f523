import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { loadKeyFile } from "./key-file.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("loadKeyFile", () => {
  it("creates a missing key readable by its owner only, and says so when the file is loose", () => {
    const dir = mkdtempSync(join(tmpdir(), "pocket-key-"));
    dirs.push(dir);
    const file = join(dir, "sub", "keys", "app.key");
    const created: string[] = [];
    const loose: string[] = [];
    const load = (createIfMissing: boolean) =>
      Effect.runSync(
        Effect.either(
          loadKeyFile({
            privateKeyFile: file,
            createIfMissing,
            generateCommand: "app keys generate --out FILE",
            onCreate: (_, address) => created.push(address),
            onLoose: (warning) => loose.push(warning),
          }),
        ),
      );
    const missing = load(false);
    expect(missing._tag === "Left" && missing.left.message).toBe(
      `KEY_FILE_MISSING: No key file at ${file}. Create one with \`app keys generate --out FILE\`.`,
    );
    const first = load(true);
    if (first._tag !== "Right") throw new Error("the key was not created");
    expect(created).toEqual([first.right.address]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The folders it made for the key are no other user's to list either.
    expect(statSync(join(dir, "sub")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "sub", "keys")).mode & 0o777).toBe(0o700);
    expect(loose).toEqual([]);
    // The same key again, now from a file anyone on the machine may read.
    chmodSync(file, 0o644);
    const again = load(true);
    expect(again._tag === "Right" && again.right.address).toBe(first.right.address);
    expect(created).toHaveLength(1);
    expect(loose).toEqual(
      process.platform === "win32"
        ? []
        : ["the key file can be read by other users (mode 644): run chmod 600 on it"],
    );
  });
  it("names the file and the fix when it is a directory or cannot be created, never the bare system error", () => {
    const dir = mkdtempSync(join(tmpdir(), "pocket-key-"));
    dirs.push(dir);
    const load = (privateKeyFile: string) =>
      Effect.runSync(
        Effect.either(
          loadKeyFile({
            privateKeyFile,
            createIfMissing: true,
            generateCommand: "app keys generate --out FILE",
          }),
        ),
      );
    const folder = load(dir);
    expect(folder._tag === "Left" && folder.left.message).toBe(
      `KEY_FILE_UNREADABLE: Cannot read the key file ${dir}: it is a directory: set privateKeyFile to the key file itself (\`app keys generate --out FILE\` creates one).`,
    );
    // A key file "inside" a regular file: its folder cannot be made.
    const plain = join(dir, "plain");
    writeFileSync(plain, "x");
    const nested = load(join(plain, "app.key"));
    expect(nested._tag === "Left" && nested.left.message).toMatch(
      new RegExp(
        `^KEY_FILE_UNREADABLE: Cannot create the key file ${plain}/app\\.key: E[A-Z]+: check the path and its folder\\.$`,
      ),
    );
  });

  it("says KEY_INVALID for a file or a privateKey that holds no key", () => {
    const dir = mkdtempSync(join(tmpdir(), "pocket-key-"));
    dirs.push(dir);
    const file = join(dir, "app.key");
    writeFileSync(file, "not a key\n", { mode: 0o600 });
    const load = (privateKey?: string) =>
      Effect.runSync(
        Effect.either(
          loadKeyFile({
            privateKey,
            privateKeyFile: file,
            createIfMissing: true,
            generateCommand: "app keys generate --out FILE",
          }),
        ),
      );
    const fromFile = load();
    expect(fromFile._tag === "Left" && fromFile.left).toMatchObject({
      code: "KEY_INVALID",
      message: `KEY_INVALID: The key file ${file} does not hold a valid hex private key.`,
    });
    const fromConfig = load("0x1234");
    expect(fromConfig._tag === "Left" && fromConfig.left).toMatchObject({
      code: "KEY_INVALID",
      message: expect.stringMatching(/^KEY_INVALID: private key: /),
    });
  });
});
