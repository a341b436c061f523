import { rmSync } from "node:fs";
import { openPostgres, openSqlite } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect, type Scope } from "effect";
import { describe, expect, it } from "vitest";
import { GatewayStore, MIGRATIONS_FOLDER, PG_MIGRATIONS_FOLDER } from "../src/db/database.js";
import { migrationsBefore } from "./support/migrations-before.js";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "./support/temp-database.js";

describe.each(STORE_DIALECTS)("upgrading to rate buckets on %s", (dialect) => {
  it.skipIf(dialectMissing(dialect))(
    "the reservations already in a window start in their buckets",
    () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const { location } = yield* freshLocation(dialect);
            const before =
              "url" in location
                ? migrationsBefore(PG_MIGRATIONS_FOLDER, "0005_key_rate_buckets")
                : migrationsBefore(MIGRATIONS_FOLDER, "0007_key_rate_buckets");
            yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(before, { recursive: true })));
            const insert = `insert into key_reservations (id, key_id, at, requests, tokens, held_micro_usd, open)
              values ('r1', 'k1', 1800000000100, 1, 100, 0, 0), ('r2', 'k1', 1800000000900, 1, 50, 5, 1),
                     ('r3', 'k1', 1800000001000, 2, 7, 0, 0), ('r4', 'k2', 1800000000500, 1, 1, 0, 0)`;
            // The previous version's database, with reservations in flight.
            const previous: Effect.Effect<void, unknown, Scope.Scope> =
              "url" in location
                ? Effect.flatMap(
                    openPostgres({ url: location.url, migrationsFolder: before }),
                    ({ client }) => Effect.promise(() => client.run(sql.raw(insert))),
                  )
                : Effect.map(
                    openSqlite({ file: location.file, schema: {}, migrationsFolder: before }),
                    ({ sqlite }) => {
                      sqlite.exec(insert);
                    },
                  );
            yield* Effect.scoped(previous);
            const buckets = yield* Effect.flatMap(GatewayStore, (db) =>
              Effect.promise(() =>
                db.all(sql`select key_id as "keyId", "second", requests, tokens from key_rate_buckets
                  order by key_id, "second"`),
              ),
            ).pipe(Effect.provide(GatewayStore.layer(location)));
            expect(buckets).toEqual([
              { keyId: "k1", second: 1_800_000_000, requests: 2, tokens: 150 },
              { keyId: "k1", second: 1_800_000_001, requests: 2, tokens: 7 },
              { keyId: "k2", second: 1_800_000_000, requests: 1, tokens: 1 },
            ]);
          }),
        ),
      ),
    120_000,
  );
});
