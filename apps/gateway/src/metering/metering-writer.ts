import { describeThrown, StartFailure } from "@pocket-ai/runtime";
import { Clock, Context, Effect, Layer, Schedule } from "effect";
import { GatewayStore, storeRunner } from "../db/database.js";
import { insertRelayRow, type RelayRow } from "../db/relay-rows.js";
import { readSpills, retireSpill, writeSpill } from "./metering-spill.js";

/** One relay's billing and settlement row: counts, prices, hashes — never prompt or output text. */
export type MeteringRow = RelayRow;

export interface MeteringSettings {
  /** Rows written per transaction; a full buffer is written at once. */
  readonly batchSize: number;
  /** Longest a row waits in memory. */
  readonly flushMs: number;
  /**
   * The folder (the gateway's data folder) where rows that cannot be written at shutdown are kept,
   * to be written at the next start (see `metering-spill.ts`). Without it they are lost.
   */
  readonly spillDir?: string | undefined;
}

/**
 * Past this many unwritten rows (a full disk, a locked file), `record` waits until a write
 * succeeds: backpressure on the requests that produce rows, never a dropped row.
 */
const MAX_BUFFERED_BATCHES = 50;
/** How often a blocked `record` retries the write. */
const RETRY_WRITE = Schedule.spaced("100 millis");
/** At shutdown, a failed last write is tried again after 100, 200, 400 and 800 ms… */
const RETRY_AT_SHUTDOWN = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(4)));
/**
 * …all of it within this long, then the rows go to the spill file: a stop never waits on a
 * database that is gone (docs/gateway.md counts it in the supervisor's stop timeout).
 */
export const SHUTDOWN_WRITE_MS = 3_000;

const make = (settings: MeteringSettings) =>
  Effect.gen(function* () {
    const store = yield* GatewayStore;
    let buffer: MeteringRow[] = [];
    let written = 0;
    let blocked = 0;

    /**
     * One transaction per batch: all of its rows are written, or none. A row whose request hash is
     * in the ledger already is skipped (see `insertRelayRow`); returns how many were new.
     */
    const writeBatch = (rows: readonly MeteringRow[]) =>
      store.transaction(async (tx) => {
        let inserted = 0;
        for (const row of rows) inserted += await insertRelayRow(tx, row);
        return inserted;
      });

    const flush = Effect.suspend(() => {
      if (buffer.length === 0) return Effect.void;
      const rows = buffer;
      buffer = [];
      return Effect.tryPromise({ try: () => writeBatch(rows), catch: (e) => e }).pipe(
        Effect.tap(() => Effect.sync(() => (written += rows.length))),
        Effect.catchAll((error) =>
          Effect.gen(function* () {
            buffer = rows.concat(buffer);
            yield* Effect.logError("metering rows could not be written; kept for the next flush").pipe(
              // The driver's code, never the failed statement: it would quote the rows' keys and addresses.
              Effect.annotateLogs({
                rows: rows.length,
                code: "DATABASE_UNAVAILABLE",
                reason: describeThrown(error),
              }),
            );
          }),
        ),
      );
    }).pipe(Effect.uninterruptible);

    // Before serving: rows a previous stop could not write. A database that refuses them fails the
    // start as any database error does, the files left as they are for the next one.
    if (settings.spillDir !== undefined)
      yield* writeSpilled(settings.spillDir, settings.batchSize, writeBatch);

    /**
     * The last write: retried a few times within {@link SHUTDOWN_WRITE_MS}; rows still unwritten
     * then are kept in a spill file for the next start, and only its count and path are logged.
     */
    const writeAtShutdown = Effect.gen(function* () {
      const rows = buffer;
      buffer = [];
      if (rows.length === 0) return;
      let reason = `no answer within ${SHUTDOWN_WRITE_MS} ms`;
      const wrote = yield* Effect.tryPromise({ try: () => writeBatch(rows), catch: (e) => e }).pipe(
        Effect.tapError((error) => Effect.sync(() => (reason = describeThrown(error)))),
        Effect.retry(RETRY_AT_SHUTDOWN),
        // A finalizer runs uninterruptibly: without this the timeout would wait for a write that
        // hangs (a lock, a silent server). The write left behind may still commit; the spilled
        // copy of its rows is then skipped at the next start.
        Effect.interruptible,
        Effect.timeout(SHUTDOWN_WRITE_MS),
        Effect.as(true),
        Effect.orElseSucceed(() => false),
      );
      if (wrote) {
        written += rows.length;
        return;
      }
      // With any a request's `record` queued meanwhile.
      const unwritten = rows.concat(buffer);
      buffer = [];
      if (settings.spillDir === undefined) return yield* logLost(unwritten.length, reason);
      const spillDir = settings.spillDir;
      const now = yield* Clock.currentTimeMillis;
      yield* Effect.try({ try: () => writeSpill(spillDir, unwritten, now), catch: (e) => e }).pipe(
        Effect.flatMap((file) =>
          Effect.logWarning("metering rows could not be written at shutdown; kept for the next start").pipe(
            Effect.annotateLogs({ code: "METERING_ROWS_SPILLED", rows: unwritten.length, file, reason }),
          ),
        ),
        Effect.catchAll((error) =>
          logLost(unwritten.length, `${reason}; spill file: ${describeThrown(error)}`),
        ),
      );
    });

    // Registered before the loop is forked, so it runs after the loop stops: nothing is lost.
    yield* Effect.addFinalizer(() => writeAtShutdown);
    yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(settings.flushMs)));

    return {
      /**
       * Queues a row; a full batch is written at once, the rest within `flushMs`. When writes
       * keep failing and the queue is full, it waits (retrying the write) until there is room.
       */
      record: (row: MeteringRow) =>
        Effect.suspend(() => {
          buffer.push(row);
          if (buffer.length < settings.batchSize) return Effect.void;
          return flush.pipe(
            Effect.zipRight(
              Effect.suspend(() =>
                buffer.length >= settings.batchSize * MAX_BUFFERED_BATCHES
                  ? Effect.fail("full" as const)
                  : Effect.void,
              ),
            ),
            Effect.tapError(() => Effect.sync(() => blocked++)),
            // Retries forever (the schedule never ends), so it never fails.
            Effect.retry(RETRY_WRITE),
            Effect.orDie,
          );
        }),
      /** Writes whatever is queued now (tests, admin reports that must see the latest rows). */
      flush,
      /** `blocked`: times a `record` had to wait for the database (rows are never dropped). */
      stats: () => ({ pending: buffer.length, written, blocked }),
    };
  });

/** Rows neither written nor kept (no spill folder, or one that cannot be written): said, with their count. */
const logLost = (rows: number, reason: string) =>
  Effect.logError("metering rows could not be written at shutdown and are lost").pipe(
    Effect.annotateLogs({ code: "METERING_ROWS_LOST", rows, reason }),
  );

/**
 * Writes the rows of every spill file in `dir` (batches of `batchSize`, a row already in the
 * ledger skipped, so a file written twice or partly flushed doubles nothing), then removes the file
 * — or keeps it as `.bad` when some of its lines were not rows. Logs counts and paths only.
 */
const writeSpilled = (
  dir: string,
  batchSize: number,
  writeBatch: (rows: readonly MeteringRow[]) => Promise<number>,
) =>
  Effect.gen(function* () {
    const store = storeRunner(yield* GatewayStore);
    const spills = yield* Effect.try({
      try: () => readSpills(dir),
      catch: (e) => spillFileFailure(dir, e),
    });
    for (const spill of spills) {
      let inserted = 0;
      for (let at = 0; at < spill.rows.length; at += batchSize) {
        const batch = spill.rows.slice(at, at + batchSize);
        inserted += yield* store("writing the metering rows kept at the last shutdown", () =>
          writeBatch(batch),
        );
      }
      const kept = yield* Effect.try({
        try: () => retireSpill(spill),
        catch: (e) => spillFileFailure(dir, e),
      });
      yield* Effect.logInfo("metering rows kept at the last shutdown were written").pipe(
        Effect.annotateLogs({
          code: "METERING_SPILL_WRITTEN",
          file: spill.file,
          rows: inserted,
          alreadyWritten: spill.rows.length - inserted,
        }),
      );
      if (kept !== undefined)
        yield* Effect.logError(
          "lines of a metering spill file are not rows: they were not written, and the file is kept",
        ).pipe(
          Effect.annotateLogs({ code: "METERING_SPILL_INVALID", lines: spill.invalidLines, file: kept }),
        );
    }
  });

const spillFileFailure = (dir: string, e: unknown) =>
  new StartFailure({
    code: "DATA_DIR_UNAVAILABLE",
    reason: `the metering spill files in ${dir} cannot be read or removed: ${describeThrown(e)}`,
  });

/**
 * Rows of relays that charged nothing (refusals, failures), written in batches off the request
 * path. Charged relays never pass through here: their row commits with the charge (`Limits.settle`).
 */
export class MeteringWriter extends Context.Tag("gateway/MeteringWriter")<
  MeteringWriter,
  Effect.Effect.Success<ReturnType<typeof make>>
>() {
  static layer(settings: MeteringSettings) {
    return Layer.scoped(MeteringWriter, make(settings));
  }
}
