import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";

const child = fileURLToPath(new URL("../../test/support/wal-removed-child.ts", import.meta.url));

/** Runs the child until it prints `ready …`, kills it (SIGKILL), and returns what it printed. */
async function crashAfterRemoval(file: string, mode?: "shared"): Promise<string> {
  const proc = spawn(process.execPath, ["--import", "tsx", child, file, ...(mode ? [mode] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err += String(d)));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on("data", (d) => {
      out += String(d);
      if (out.includes("\n")) resolve();
    });
    proc.once("exit", () => reject(new Error(`the child exited before it was ready: ${err}`)));
  });
  proc.kill("SIGKILL");
  await exited;
  return `${out.trim()}|${err}`;
}

const rowsIn = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("select count(*) as n from rows").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe("a WAL file removed while the database is open", () => {
  it("loses no commit through a kill -9: the WAL is copied into the database file and a new one made", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-wal-rm-")), "a.sqlite");
    const [ready, stderr] = (await crashAfterRemoval(file)).split("|");
    expect(ready).toBe("ready recreated");
    expect(stderr).toContain("POCKET_WAL_FILE_REPLACED");
    expect(rowsIn(file)).toBe(150);
  }, 60_000);

  it("copies every commit into the database file when another connection keeps the old WAL", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-wal-rm-")), "a.sqlite");
    const [ready] = (await crashAfterRemoval(file, "shared")).split("|");
    expect(ready).toBe("ready checkpointing");
    expect(existsSync(file)).toBe(true);
    expect(rowsIn(file)).toBe(150);
  }, 60_000);
});
