import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cause, Effect, Exit, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { lockDataDir } from "./data-dir-lock.js";

const hold = async (dir: string) => {
  const scope = Effect.runSync(Scope.make());
  const exit = await Effect.runPromiseExit(Scope.extend(lockDataDir(dir, "pocket-test"), scope));
  return { exit, release: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
};

describe("the data folder lock", () => {
  it("refuses a second holder while the first runs, and is free again once released", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pocket-lock-")), "data");
    const first = await hold(dir);
    expect(Exit.isSuccess(first.exit)).toBe(true);
    // The lock is the first thing in a new data folder: it creates the folder for its owner only.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, "pocket-test.lock"), "utf8").trim()).toBe(String(process.pid));
    const second = await hold(dir);
    expect(Exit.isFailure(second.exit)).toBe(true);
    expect(Exit.isFailure(second.exit) && Cause.squash(second.exit.cause)).toMatchObject({
      code: "DATA_DIR_LOCKED",
      message: expect.stringMatching(
        `^DATA_DIR_LOCKED: another pocket-test \\(this process\\) is using the data folder ${dir}`,
      ),
    });
    await first.release();
    expect(existsSync(join(dir, "pocket-test.lock"))).toBe(false);
    const third = await hold(dir);
    expect(Exit.isSuccess(third.exit)).toBe(true);
    await third.release();
  });

  it("takes over a lock whose process is gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pocket-lock-"));
    // The id of a process that has exited.
    const gone = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    writeFileSync(join(dir, "pocket-test.lock"), `${gone}\n`);
    const taken = await hold(dir);
    expect(Exit.isSuccess(taken.exit)).toBe(true);
    expect(readFileSync(join(dir, "pocket-test.lock"), "utf8").trim()).toBe(String(process.pid));
    await taken.release();
  });

  it("says DATA_DIR_UNAVAILABLE for a data folder that cannot be made", async () => {
    const parent = mkdtempSync(join(tmpdir(), "pocket-lock-"));
    // A "folder" inside a regular file.
    writeFileSync(join(parent, "plain"), "x");
    const dir = join(parent, "plain", "data");
    const held = await hold(dir);
    expect(Exit.isFailure(held.exit) && Cause.squash(held.exit.cause)).toMatchObject({
      code: "DATA_DIR_UNAVAILABLE",
      message: expect.stringMatching(`^DATA_DIR_UNAVAILABLE: cannot lock the data folder ${dir}: `),
    });
  });
});
