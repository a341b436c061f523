import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../metrics/registry.js";
import { openSqlite } from "./sqlite.js";
import { migrations } from "./test-migrations.js";
import {
  CHECKPOINT_WORKER_FAILED,
  type CheckpointerOptions,
  type CheckpointRun,
  SAFETY_AUTOCHECKPOINT,
  WalCheckpointer,
  watchCheckpoints,
} from "./wal-checkpointer.js";

/** What a scrape says of one database: [worker running, worker failed], or undefined if absent. */
function scraped(registry: MetricsRegistry, database: string): [number, number] | undefined {
  const text = registry.render();
  const value = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{database="${database}"} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };
  const running = value("pocket_sqlite_checkpoint_worker");
  const failed = value("pocket_sqlite_checkpoint_worker_failed");
  return running === undefined || failed === undefined ? undefined : [running, failed];
}

async function open(file: string, checkpoint: Partial<CheckpointerOptions>) {
  const scope = Effect.runSync(Scope.make());
  const opened = await Effect.runPromise(
    Scope.extend(openSqlite({ file, schema: {}, migrationsFolder: migrations(), checkpoint }), scope),
  );
  return { ...opened, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}

/** A checkpoint the worker runs now, which must copy every frame of the WAL. */
async function fullCheckpoint(checkpointer: WalCheckpointer): Promise<CheckpointRun> {
  let run = await checkpointer.checkpointNow();
  // log -1: the app's thread was checkpointing at that moment (SQLITE_BUSY); ask again.
  while (run !== undefined && run.log < 0) run = await checkpointer.checkpointNow();
  if (run === undefined) throw new Error("the worker is not running");
  expect(run.log).toBeGreaterThan(0);
  expect(run.checkpointed).toBe(run.log);
  expect(run.whole).toBe(true);
  return run;
}

/** The WAL file's size (0 once the last connection closed and SQLite removed it). */
const walSize = (file: string) => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

describe("WalCheckpointer", () => {
  it("checkpoints from a worker once the WAL grows, so the WAL is reused instead of growing", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-ckpt-")), "a.sqlite");
    const { sqlite, checkpointer, close } = await open(file, {
      pollMs: 5,
      startAtBytes: 64 * 1024,
      everyMs: 5,
    });
    if (checkpointer === undefined) throw new Error("a file database has a checkpointer");
    const registry = new MetricsRegistry();
    watchCheckpoints(registry);
    expect(scraped(registry, "a.sqlite")).toEqual([0, 0]);
    const insert = sqlite.prepare("INSERT INTO t (v) VALUES (?)");
    const batch = () => {
      // One transaction per row, as relays commit: each adds frames to the WAL.
      for (let i = 0; i < 200; i++) insert.run("x".repeat(500));
    };
    expect(checkpointer.stats().running).toBe(false);
    expect(sqlite.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    batch();
    // The worker starts by itself once the WAL passed 64 KiB, and reports its own checkpoints.
    while (checkpointer.stats().runs === 0) await checkpointer.next();
    await fullCheckpoint(checkpointer);
    // The app's connection now checkpoints only as a safety valve.
    expect(checkpointer.stats().running).toBe(true);
    expect(sqlite.pragma("wal_autocheckpoint", { simple: true })).toBe(SAFETY_AUTOCHECKPOINT);
    expect(scraped(registry, "a.sqlite")).toEqual([1, 0]);
    const after = walSize(file);
    for (let round = 0; round < 4; round++) {
      batch();
      await fullCheckpoint(checkpointer);
    }
    // Four more batches, each written once the last was copied: the WAL restarted each time.
    expect(walSize(file)).toBeLessThanOrEqual(after * 2);
    expect(sqlite.prepare("SELECT count(*) FROM t").pluck().get()).toBe(1000);
    await close();
    expect(walSize(file)).toBe(0);
    expect(checkpointer.stats().running).toBe(false);
    expect(WalCheckpointer.live()).not.toContain(checkpointer);
    // A closed database has no series left, rather than its last values.
    expect(scraped(registry, "a.sqlite")).toBeUndefined();

    // Every row is in the file after the worker and the app both closed.
    const reopened = await open(file, { pollMs: 60_000 });
    expect(reopened.sqlite.prepare("SELECT count(*) FROM t").pluck().get()).toBe(1000);
    await reopened.close();
  });

  it("copies what the worker left behind on the app's thread, so the WAL still starts over", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-ckpt-")), "c.sqlite");
    // One round per run: the worker never sees a round begin with nothing new, so it never reports
    // the WAL whole, and the app's thread copies the rest after each report.
    const { sqlite, checkpointer, close } = await open(file, {
      pollMs: 5,
      startAtBytes: 0,
      everyMs: 60_000,
      catchUpRounds: 1,
    });
    if (checkpointer === undefined) throw new Error("a file database has a checkpointer");
    const insert = sqlite.prepare("INSERT INTO t (v) VALUES (?)");
    insert.run("first");
    while (!checkpointer.stats().running) await new Promise((r) => setTimeout(r, 5));
    let size = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 200; i++) insert.run("x".repeat(500));
      const run = await checkpointer.checkpointNow();
      expect(run).toMatchObject({ whole: false });
      expect(checkpointer.stats().finished).toBe(round + 1);
      if (round === 0) size = walSize(file);
    }
    // Each round's 200 transactions went into a WAL that had started over.
    expect(walSize(file)).toBeLessThanOrEqual(size * 1.5);
    await close();
  });

  it("falls back to checkpoints on the app's connection when the worker cannot run", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-ckpt-")), "b.sqlite");
    const { sqlite, checkpointer, close } = await open(file, {
      pollMs: 5,
      startAtBytes: 0,
      module: join(tmpdir(), "no-such-sqlite-module.js"),
    });
    if (checkpointer === undefined) throw new Error("a file database has a checkpointer");
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once("warning", resolve));
    sqlite.prepare("INSERT INTO t (v) VALUES (?)").run("kept");
    // The operator hears of it, under a stable code.
    expect((await warned).code).toBe(CHECKPOINT_WORKER_FAILED);
    expect(checkpointer.stats()).toMatchObject({
      running: false,
      failure: expect.stringContaining("Cannot find"),
    });
    expect(sqlite.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    // Metrics show it too: checkpoints on the app's thread, the worker failed.
    const registry = new MetricsRegistry();
    watchCheckpoints(registry);
    expect(scraped(registry, "b.sqlite")).toEqual([0, 1]);
    sqlite.prepare("INSERT INTO t (v) VALUES (?)").run("still written");
    await close();
    const reopened = await open(file, { pollMs: 60_000 });
    expect(reopened.sqlite.prepare("SELECT count(*) FROM t").pluck().get()).toBe(2);
    await reopened.close();
  });
  it("reports databases of one file name as one series: running only if all run, failed if any failed", async () => {
    const good = await open(join(mkdtempSync(join(tmpdir(), "pocket-ckpt-")), "d.sqlite"), {
      pollMs: 5,
      startAtBytes: 0,
    });
    const bad = await open(join(mkdtempSync(join(tmpdir(), "pocket-ckpt-")), "d.sqlite"), {
      pollMs: 5,
      startAtBytes: 0,
      module: join(tmpdir(), "no-such-sqlite-module.js"),
    });
    const warned = new Promise((resolve) => process.once("warning", resolve));
    good.sqlite.prepare("INSERT INTO t (v) VALUES (?)").run("a");
    bad.sqlite.prepare("INSERT INTO t (v) VALUES (?)").run("b");
    await warned;
    while (!good.checkpointer?.stats().running) await new Promise((r) => setTimeout(r, 5));
    const registry = new MetricsRegistry();
    watchCheckpoints(registry);
    expect(scraped(registry, "d.sqlite")).toEqual([0, 1]);
    await bad.close();
    expect(scraped(registry, "d.sqlite")).toEqual([1, 0]);
    await good.close();
  });
});
