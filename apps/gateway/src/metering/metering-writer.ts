import { Context, Effect, Layer, Schedule } from "effect";
import { Database } from "../db/database.js";
import { relays } from "../db/schema.js";

/** One relay's billing and settlement row: counts, prices, hashes — never prompt or output text. */
export type MeteringRow = typeof relays.$inferInsert;

export interface MeteringSettings {
  /** Rows written per transaction; a full buffer is written at once. */
  readonly batchSize: number;
  /** Longest a row waits in memory. */
  readonly flushMs: number;
}

/** Past this many unwritable rows (a full disk), the oldest are dropped rather than eat the memory. */
const MAX_BUFFERED_BATCHES = 50;

const make = (settings: MeteringSettings) =>
  Effect.gen(function* () {
    const { db } = yield* Database;
    let buffer: MeteringRow[] = [];
    let written = 0;
    let dropped = 0;

    /** One synchronous better-sqlite3 transaction: nothing else runs until it commits. */
    const writeBatch = (rows: readonly MeteringRow[]) =>
      db.transaction((tx) => {
        for (const row of rows) tx.insert(relays).values(row).onConflictDoNothing().run();
      });

    const flush = Effect.suspend(() => {
      if (buffer.length === 0) return Effect.void;
      const rows = buffer;
      buffer = [];
      return Effect.try({ try: () => writeBatch(rows), catch: (e) => e }).pipe(
        Effect.tap(() => Effect.sync(() => (written += rows.length))),
        Effect.catchAll((error) =>
          Effect.gen(function* () {
            buffer = rows.concat(buffer);
            const limit = settings.batchSize * MAX_BUFFERED_BATCHES;
            if (buffer.length > limit) {
              dropped += buffer.length - limit;
              buffer = buffer.slice(buffer.length - limit);
            }
            yield* Effect.logError("metering rows could not be written; kept for the next flush").pipe(
              Effect.annotateLogs({ rows: rows.length, reason: String(error) }),
            );
          }),
        ),
      );
    }).pipe(Effect.uninterruptible);

    // Registered before the loop is forked, so it runs after the loop stops: nothing is lost.
    yield* Effect.addFinalizer(() => flush);
    yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(settings.flushMs)));

    return {
      /** Queues a row; a full batch is written at once, the rest within `flushMs`. */
      record: (row: MeteringRow) =>
        Effect.suspend(() => {
          buffer.push(row);
          return buffer.length >= settings.batchSize ? flush : Effect.void;
        }),
      /** Writes whatever is queued now (tests, admin reports that must see the latest rows). */
      flush,
      stats: () => ({ pending: buffer.length, written, dropped }),
    };
  });

/** Relay rows (billing + settlement ledger) written in batches off the request path. */
export class MeteringWriter extends Context.Tag("gateway/MeteringWriter")<
  MeteringWriter,
  Effect.Effect.Success<ReturnType<typeof make>>
>() {
  static layer(settings: MeteringSettings) {
    return Layer.scoped(MeteringWriter, make(settings));
  }
}
