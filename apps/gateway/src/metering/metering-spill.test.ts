import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, redactingLoggerLayer } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Clock, Context, Effect, Exit, Fiber, Layer, Scope, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { meteringRow } from "../../test/support/metering-rows.js";
import { ALLOW_INSERTS, REFUSE_INSERTS } from "../../test/support/refused-inserts.js";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { GatewayStore, type StoreLocation } from "../db/database.js";
import { writeSpill } from "./metering-spill.js";
import { type MeteringRow, MeteringWriter, SHUTDOWN_WRITE_MS } from "./metering-writer.js";

const row = (i: number): MeteringRow =>
  meteringRow(i, {
    nodeAddress: null,
    outcome: "error",
    errorCode: "NO_NODE",
    priceMicroUsd: 0,
    latencyMs: 12,
    stream: true,
  });

const spillFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith("metering-spill-"));

/** The request hashes in the ledger, each once per row. */
const ledger = (location: StoreLocation) =>
  onStore(location, (db) =>
    db.all<{ h: string }>(sql`select request_hash as h from relays order by request_hash`),
  ).pipe(Effect.map((rows) => rows.map((r) => r.h)));

/** Runs `f` on the store at `location`, opened for it alone (the way an operator's tool would). */
const onStore = <A>(location: StoreLocation, f: (db: Context.Tag.Service<GatewayStore>) => Promise<A>) =>
  Effect.scoped(
    Effect.flatMap(Layer.build(GatewayStore.layer(location)), (ctx) =>
      Effect.promise(() => f(Context.get(ctx, GatewayStore))),
    ),
  );

const runSql = (location: StoreLocation, statements: readonly string[]) =>
  onStore(location, async (db) => {
    for (const statement of statements) await db.run(sql.raw(statement));
  });

/** A gateway's start of the writer (and its store) at `location`, spilling to `dir`, in `scope`. */
const startWriter = (location: StoreLocation, dir: string, scope: Scope.Scope) =>
  Layer.buildWithScope(
    MeteringWriter.layer({ batchSize: 2, flushMs: 60_000, spillDir: dir }).pipe(
      Layer.provideMerge(GatewayStore.layer(location)),
    ),
    scope,
  ).pipe(Effect.map((ctx) => Context.get(ctx, MeteringWriter)));

/**
 * Closes `scope` under the test clock, moving it on only while the close waits on it (its
 * retries' pauses): no real time passes. Returns the time the close took on that clock.
 */
const closeOnTestClock = (scope: Scope.CloseableScope, eachStep: () => void = () => {}) =>
  Effect.gen(function* () {
    const from = yield* Clock.currentTimeMillis;
    const closing = yield* Effect.fork(Scope.close(scope, Exit.void));
    while ((yield* Fiber.poll(closing))._tag === "None") {
      eachStep();
      yield* TestClock.adjust("50 millis");
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)));
    }
    yield* Fiber.join(closing);
    return (yield* Clock.currentTimeMillis) - from;
  });

const logs = () => {
  const lines: string[] = [];
  const layer = redactingLoggerLayer(createLogger({ app: "gateway", write: (l) => lines.push(l) }));
  const coded = (code: string) =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.code === code);
  return { lines, layer, coded };
};

const run = <A, E>(program: Effect.Effect<A, E, Scope.Scope>, logger: Layer.Layer<never>) =>
  Effect.runPromise(
    program.pipe(Effect.scoped, Effect.provide(TestContext.TestContext), Effect.provide(logger)),
  );

describe.each(STORE_DIALECTS)("metering spill on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it("keeps the rows a stop cannot write in a private file, and the next start writes them once and removes it", async () => {
      const log = logs();
      const dataDir = join(mkdtempSync(join(tmpdir(), "pocket-spill-")), "data");
      const result = await run(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          const first = yield* Scope.make();
          const writer = yield* startWriter(location, dataDir, first);
          yield* writer.record(row(1));
          yield* writer.record(row(2));
          // The database goes away before the last row is written.
          yield* runSql(location, REFUSE_INSERTS[dialect]);
          yield* writer.record(row(3));
          const stopMs = yield* closeOnTestClock(first);
          const files = spillFiles(dataDir);
          const spilled = files.map((name) => ({
            mode: statSync(join(dataDir, name)).mode & 0o777,
            rows: readFileSync(join(dataDir, name), "utf8")
              .trimEnd()
              .split("\n")
              .map((line) => JSON.parse(line) as unknown),
          }));
          const dirMode = statSync(dataDir).mode & 0o777;
          const before = yield* ledger(location);

          yield* runSql(location, [ALLOW_INSERTS[dialect]]);
          const second = yield* Scope.make();
          yield* startWriter(location, dataDir, second);
          const afterStart = yield* ledger(location);
          const filesAfter = spillFiles(dataDir);
          yield* closeOnTestClock(second);
          // A third start finds nothing to write again.
          const third = yield* Scope.make();
          yield* startWriter(location, dataDir, third);
          yield* closeOnTestClock(third);
          return {
            stopMs,
            spilled,
            dirMode,
            before,
            afterStart,
            filesAfter,
            afterAll: yield* ledger(location),
          };
        }),
        log.layer,
      );
      // The batch of two was written as it filled; the third row met the refusing database at shutdown.
      expect(result.before).toEqual(["hash-1", "hash-2"]);
      expect(result.spilled).toEqual([{ mode: 0o600, rows: [row(3)] }]);
      expect(result.dirMode).toBe(0o700);
      // It retried (100 + 200 + 400 + 800 ms of pauses) and gave up within its bound.
      expect(result.stopMs).toBeGreaterThanOrEqual(1_500);
      expect(result.stopMs).toBeLessThanOrEqual(SHUTDOWN_WRITE_MS + 50);
      expect(log.coded("METERING_ROWS_SPILLED")).toMatchObject([{ rows: 1 }]);
      expect(result.afterStart).toEqual(["hash-1", "hash-2", "hash-3"]);
      expect(result.filesAfter).toEqual([]);
      expect(result.afterAll).toEqual(["hash-1", "hash-2", "hash-3"]);
      expect(log.coded("METERING_SPILL_WRITTEN")).toMatchObject([{ rows: 1, alreadyWritten: 0 }]);
      // Counts and paths only: no line names a row's hash, application or key.
      for (const line of log.lines) expect(line).not.toMatch(/hash-\d|app_1|key_1/);
    });

    it.skipIf(dialect !== "postgres")(
      "gives up on a write that hangs within its bound, and a row that write commits later is not doubled",
      async () => {
        const log = logs();
        const dataDir = mkdtempSync(join(tmpdir(), "pocket-spill-"));
        const result = await run(
          Effect.gen(function* () {
            const { location } = yield* freshLocation(dialect);
            // Another session holds the ledger locked: the last write waits, it does not fail.
            let locked!: () => void;
            let unlock!: () => void;
            const lockTaken = new Promise<void>((resolve) => (locked = resolve));
            const held = new Promise<void>((resolve) => (unlock = resolve));
            const locker = yield* Effect.fork(
              onStore(location, (db) =>
                db.transaction(async (tx) => {
                  await tx.run(sql.raw("LOCK TABLE relays IN ACCESS EXCLUSIVE MODE"));
                  locked();
                  await held;
                }),
              ),
            );
            const first = yield* Scope.make();
            const writer = yield* startWriter(location, dataDir, first);
            yield* Effect.promise(() => lockTaken);
            yield* writer.record(row(1));
            const from = yield* Clock.currentTimeMillis;
            // The store's pool ends once its connections are back: the lock goes once the row is spilled.
            yield* closeOnTestClock(first, () => spillFiles(dataDir).length > 0 && unlock());
            yield* Fiber.join(locker);
            const [name] = spillFiles(dataDir);
            const spilledAt = Number(name?.split("-")[2]);
            const second = yield* Scope.make();
            yield* startWriter(location, dataDir, second);
            yield* closeOnTestClock(second);
            return {
              waitedMs: spilledAt - from,
              ledger: yield* ledger(location),
              files: spillFiles(dataDir),
            };
          }),
          log.layer,
        );
        expect(result.waitedMs).toBeGreaterThanOrEqual(SHUTDOWN_WRITE_MS);
        expect(result.waitedMs).toBeLessThanOrEqual(SHUTDOWN_WRITE_MS + 50);
        expect(log.coded("METERING_ROWS_SPILLED")).toMatchObject([{ rows: 1 }]);
        // The abandoned write committed once the lock went; the spilled copy added nothing.
        expect(result.ledger).toEqual(["hash-1"]);
        expect(log.coded("METERING_SPILL_WRITTEN")).toMatchObject([{ rows: 0, alreadyWritten: 1 }]);
        expect(result.files).toEqual([]);
      },
    );

    it("writes no row twice when the ledger already holds some of a spill's rows", async () => {
      const log = logs();
      const dataDir = mkdtempSync(join(tmpdir(), "pocket-spill-"));
      const ledgerAfter = await run(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          const first = yield* Scope.make();
          const writer = yield* startWriter(location, dataDir, first);
          yield* writer.record(row(1));
          yield* writer.flush;
          yield* closeOnTestClock(first);
          // A stop that spilled rows one of which reached the database after all (a write that
          // timed out yet committed), and the same file written twice.
          writeSpill(dataDir, [row(1), row(2)], 1);
          writeSpill(dataDir, [row(2)], 2);
          const second = yield* Scope.make();
          yield* startWriter(location, dataDir, second);
          yield* closeOnTestClock(second);
          expect(spillFiles(dataDir)).toEqual([]);
          return yield* ledger(location);
        }),
        log.layer,
      );
      expect(ledgerAfter).toEqual(["hash-1", "hash-2"]);
      expect(log.coded("METERING_SPILL_WRITTEN")).toMatchObject([
        { rows: 1, alreadyWritten: 1 },
        { rows: 0, alreadyWritten: 1 },
      ]);
    });

    it("writes a spill's valid rows, and keeps a file with lines that are not rows aside, counted", async () => {
      const log = logs();
      const dataDir = mkdtempSync(join(tmpdir(), "pocket-spill-"));
      const file = writeSpill(dataDir, [row(1)], 1);
      const bad = [
        '{"requestHash":"hash-2","applicationId":"secret-marker"', // cut short
        JSON.stringify({ ...row(3), priceMicroUsd: 7.5 }), // money that is not an integer
        JSON.stringify({ ...row(4), prompt: "secret-marker" }), // a field no row has
        JSON.stringify(row(5)),
      ];
      writeFileSync(file, bad.map((line) => `${line}\n`).join(""), { flag: "a" });
      const content = readFileSync(file, "utf8");
      const result = await run(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          for (let start = 0; start < 2; start++) {
            const scope = yield* Scope.make();
            yield* startWriter(location, dataDir, scope);
            yield* closeOnTestClock(scope);
          }
          return { ledger: yield* ledger(location), files: readdirSync(dataDir) };
        }),
        log.layer,
      );
      // The second start leaves the kept file alone.
      expect(result.ledger).toEqual(["hash-1", "hash-5"]);
      expect(result.files).toEqual([`${file.slice(dataDir.length + 1)}.bad`]);
      expect(readFileSync(`${file}.bad`, "utf8")).toBe(content);
      expect(log.coded("METERING_SPILL_INVALID")).toMatchObject([{ lines: 3, file: `${file}.bad` }]);
      for (const line of log.lines) expect(line).not.toMatch(/secret-marker|hash-\d/);
    });

    it("fails a start whose database refuses the spilled rows, and leaves the file for the next", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "pocket-spill-"));
      const file = writeSpill(dataDir, [row(1), row(2), row(3)], 1);
      const content = readFileSync(file, "utf8");
      const result = await run(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          yield* runSql(location, REFUSE_INSERTS[dialect]);
          const refused = yield* Effect.scoped(
            Effect.flatMap(Scope.Scope, (scope) => startWriter(location, dataDir, scope)),
          ).pipe(Effect.flip);
          const kept = readFileSync(file, "utf8");
          yield* runSql(location, [ALLOW_INSERTS[dialect]]);
          const scope = yield* Scope.make();
          yield* startWriter(location, dataDir, scope);
          yield* closeOnTestClock(scope);
          return { refused, kept, ledger: yield* ledger(location), files: spillFiles(dataDir) };
        }),
        logs().layer,
      );
      expect(result.refused).toMatchObject({ _tag: "StorageError" });
      expect(result.kept).toBe(content);
      expect(result.ledger).toEqual(["hash-1", "hash-2", "hash-3"]);
      expect(result.files).toEqual([]);
    });
  });
});
