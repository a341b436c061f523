import { describeThrown } from "@pocket-ai/runtime";
import { Context, Effect, Layer, Schedule } from "effect";
import { GatewayStore } from "../db/database.js";
import { insertRelayRow, type RelayRow } from "../db/relay-rows.js";

/** One relay's billing and settlement row: counts, prices, hashes — never prompt or output text. */
export type MeteringRow = RelayRow;

export interface MeteringSettings {
  /** Rows written per transaction; a full buffer is written at once. */
  readonly batchSize: number;
  /** Longest a row waits in memory. */
  readonly flushMs: number;
}

/**
 * Past this many unwritten rows (a full disk, a locked file), `record` waits until a write
 * succeeds: backpressure on the requests that produce rows, never a dropped row.
 */
const MAX_BUFFERED_BATCHES = 50;
/** How often a blocked `record` retries the write. */
const RETRY_WRITE = Schedule.spaced("100 millis");

const make = (settings: MeteringSettings) =>
  Effect.gen(function* () {
    const store = yield* GatewayStore;
    let buffer: MeteringRow[] = [];
    let written = 0;
    let blocked = 0;

    /** One transaction per batch: all of its rows are written, or none. */
    const writeBatch = (rows: readonly MeteringRow[]) =>
      store.transaction(async (tx) => {
        for (const row of rows) await insertRelayRow(tx, row);
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

    // Registered before the loop is forked, so it runs after the loop stops: nothing is lost.
    yield* Effect.addFinalizer(() => flush);
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
