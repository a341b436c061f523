import { createLogger, redactingLoggerLayer } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Context, Effect, Exit, Fiber, Layer, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { meteringRow } from "../../test/support/metering-rows.js";
import { ALLOW_INSERTS, REFUSE_INSERTS } from "../../test/support/refused-inserts.js";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { GatewayStore } from "../db/database.js";
import { type MeteringRow, MeteringWriter } from "./metering-writer.js";

const row = (i: number): MeteringRow => meteringRow(i, { outputTokens: 4, priceMicroUsd: 750 });

const countRows = Effect.flatMap(GatewayStore, (db) =>
  Effect.promise(async () => (await db.all(sql`select request_hash from relays`)).length),
);

describe.each(STORE_DIALECTS)("MeteringWriter on %s", (dialect) => {
  const TempDatabase = tempStore(dialect);
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it("writes a full batch at once and the rest on shutdown", async () => {
      const program = Effect.gen(function* () {
        const scope = yield* Scope.make();
        const writer = yield* Layer.buildWithScope(
          MeteringWriter.layer({ batchSize: 3, flushMs: 60_000 }),
          scope,
        ).pipe(Effect.map((ctx) => Context.get(ctx, MeteringWriter)));
        for (let i = 0; i < 4; i++) yield* writer.record(row(i));
        const afterBatch = yield* countRows;
        const pending = writer.stats().pending;
        yield* Scope.close(scope, Exit.void);
        return { afterBatch, pending, afterClose: yield* countRows };
      });
      const result = await Effect.runPromise(program.pipe(Effect.provide(TempDatabase)));
      expect(result).toEqual({ afterBatch: 3, pending: 1, afterClose: 4 });
    });

    it("flushes on its interval and ignores a row it already holds", async () => {
      const program = Effect.gen(function* () {
        const writer = yield* MeteringWriter;
        yield* writer.record(row(1));
        yield* writer.record(row(1));
        // State, not time: wait for the interval's flush to have written the row.
        while ((yield* countRows) === 0) yield* Effect.sleep("10 millis");
        return { rows: yield* countRows, stats: writer.stats() };
      });
      const layer = MeteringWriter.layer({ batchSize: 100, flushMs: 10 }).pipe(
        Layer.provideMerge(TempDatabase),
      );
      const result = await Effect.runPromise(program.pipe(Effect.provide(layer)));
      expect(result.rows).toBe(1);
      expect(result.stats).toMatchObject({ pending: 0, written: 2, blocked: 0 });
    });

    it("never drops a row: when writes fail and the queue is full, record waits until a write succeeds", async () => {
      const program = Effect.gen(function* () {
        const db = yield* GatewayStore;
        const writer = yield* MeteringWriter;
        for (const statement of REFUSE_INSERTS[dialect])
          yield* Effect.promise(() => db.run(sql.raw(statement)));
        const producer = yield* Effect.fork(
          Effect.forEach(
            Array.from({ length: 80 }, (_, i) => row(i)),
            writer.record,
          ),
        );
        // State, not time: wait until the producer is stuck behind a full queue.
        while (writer.stats().blocked === 0) yield* Effect.sleep("10 millis");
        const stuck = { done: (yield* Fiber.poll(producer))._tag === "Some", stats: writer.stats() };
        yield* Effect.promise(() => db.run(sql.raw(ALLOW_INSERTS[dialect])));
        yield* Fiber.join(producer);
        yield* writer.flush;
        return { stuck, rows: yield* countRows };
      });
      const layer = MeteringWriter.layer({ batchSize: 1, flushMs: 60_000 }).pipe(
        Layer.provideMerge(TempDatabase),
      );
      const logged: string[] = [];
      const logger = redactingLoggerLayer(createLogger({ app: "gateway", write: (l) => logged.push(l) }));
      const result = await Effect.runPromise(program.pipe(Effect.provide(layer), Effect.provide(logger)));
      // Each failed write is logged with the database's code, never the statement or its values.
      const failures = logged.filter((l) => l.includes("metering rows could not be written"));
      expect(failures.length).toBeGreaterThan(0);
      expect(JSON.parse(failures[0]!)).toMatchObject({
        code: "DATABASE_UNAVAILABLE",
        reason: dialect === "sqlite" ? "SQLITE_CONSTRAINT_TRIGGER: disk full" : "SQLSTATE P0001",
      });
      for (const line of failures) expect(line).not.toMatch(/insert|hash-\d|app_1|key_1/i);
      expect(result.stuck.done).toBe(false);
      expect(result.stuck.stats.pending).toBe(50);
      expect(result.stuck.stats.written).toBe(0);
      expect(result.rows).toBe(80);
    });
  });
});
