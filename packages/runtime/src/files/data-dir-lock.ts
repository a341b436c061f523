import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Data, Effect, type Scope } from "effect";
import type { StartCode } from "../main/start-codes.js";
import { makePrivateDir } from "./private-dir.js";

/**
 * The data folder cannot be had: another process of the same app holds it (`DATA_DIR_LOCKED`), or
 * it cannot be created or written (`DATA_DIR_UNAVAILABLE`); `reason` names it and what to do.
 */
export class DataDirLocked extends Data.TaggedError("DataDirLocked")<{
  readonly code: Extract<StartCode, "DATA_DIR_LOCKED" | "DATA_DIR_UNAVAILABLE">;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.code}: ${this.reason}`;
  }
}

/** Whether a process with this id runs (one of another user's counts: it cannot be signalled). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process id a file holds (a lock's holder, a server's owner), or `undefined`. */
export const pidInFile = (file: string): number | undefined => {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Holds `<dir>/<app>.lock` (this process's id) for the scope: a second process of the app on the
 * same data folder is refused at start, instead of sharing its key, its database and its identity
 * at the gateways unnoticed. A lock left by a process that no longer runs (`kill -9`, a crash) is
 * taken over.
 */
export function lockDataDir(dir: string, app: string): Effect.Effect<void, DataDirLocked, Scope.Scope> {
  const file = join(dir, `${app}.lock`);
  const take = Effect.try({
    try: () => {
      makePrivateDir(dir);
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = pidInFile(file);
      if (holder !== undefined && processRunning(holder)) {
        const who = holder === process.pid ? "this process" : `process ${holder}`;
        throw new DataDirLocked({
          code: "DATA_DIR_LOCKED",
          reason: `another ${app} (${who}) is using the data folder ${dir}: stop it, or give this one a dataDir of its own (if no ${app} runs there, delete ${file})`,
        });
      }
      writeFileSync(file, `${process.pid}\n`);
    },
    catch: (e) =>
      e instanceof DataDirLocked
        ? e
        : new DataDirLocked({
            code: "DATA_DIR_UNAVAILABLE",
            reason: `cannot lock the data folder ${dir}: ${(e as Error).message}`,
          }),
  });
  const release = Effect.sync(() => {
    if (pidInFile(file) !== process.pid) return;
    try {
      unlinkSync(file);
    } catch {
      // Gone already: nothing to release.
    }
  });
  return Effect.acquireRelease(take, () => release);
}
