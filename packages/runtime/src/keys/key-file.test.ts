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
      `No key file at ${file}. Create one with \`app keys generate --out FILE\`.`,
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
      `Cannot read the key file ${dir}: it is a directory: set privateKeyFile to the key file itself (\`app keys generate --out FILE\` creates one).`,
    );
    // A key file "inside" a regular file: its folder cannot be made.
    const plain = join(dir, "plain");
    writeFileSync(plain, "x");
    const nested = load(join(plain, "app.key"));
    expect(nested._tag === "Left" && nested.left.message).toMatch(
      new RegExp(
        `^Cannot create the key file ${plain}/app\\.key: E[A-Z]+: check the path and its folder\\.$`,
      ),
    );
  });
});
