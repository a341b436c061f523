import { it } from "@effect/vitest";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect, Exit } from "effect";
import { describe, expect } from "vitest";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { GatewayStore, type StoreLocation, storeRunner } from "./database.js";

const withStore = <A>(location: StoreLocation, f: (db: SqlClient) => Promise<A>) =>
  Effect.scoped(
    Effect.flatMap(GatewayStore, (db) => Effect.promise(() => f(db))).pipe(
      Effect.provide(GatewayStore.layer(location)),
    ),
  );

const tableNames = (db: SqlClient) =>
  db.dialect === "sqlite"
    ? db.all<{ name: string }>(sql`select name from sqlite_master where type = 'table'`)
    : db.all<{ name: string }>(
        sql`select table_name as "name" from information_schema.tables where table_schema = 'public'`,
      );

describe.each(STORE_DIALECTS)("the gateway store on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect("opens with the committed migrations applied", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          const names = yield* withStore(location, tableNames);
          expect(names.map((t) => t.name)).toEqual(
            expect.arrayContaining([
              "applications",
              "api_keys",
              "key_reservations",
              "nodes",
              "relays",
              "claims",
              "weekly_rates",
              "portal_users",
              "portal_sessions",
            ]),
          );
          if (dialect === "sqlite" && "file" in location) {
            const mode = yield* withStore(location, (db) =>
              db.get<{ journal_mode: string }>(sql`pragma journal_mode`),
            );
            expect(mode?.journal_mode).toBe("wal");
          }
        }),
      ),
    );

    it.effect("keeps rows across a restart, and migrating again changes nothing", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          yield* withStore(location, (db) =>
            db.run(sql`insert into applications (id, name, address, status, created_at)
              values ('app_1', 'n', 'pokt1a', 'active', 1)`),
          );
          const names = yield* withStore(location, (db) =>
            db.all<{ name: string }>(sql`select name from applications`),
          );
          expect(names.map((a) => a.name)).toEqual(["n"]);
        }),
      ),
    );

    it.effect("refuses a database a newer release migrated with DATABASE_NEWER_THAN_APP", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          const record = dialect === "sqlite" ? sql`__drizzle_migrations` : sql`drizzle.__drizzle_migrations`;
          // As a newer release leaves it: one migration more than this build has.
          yield* withStore(location, (db) =>
            db.run(sql`insert into ${record} (hash, created_at) values ('newer', 4102444800000)`),
          );
          const refused = yield* Effect.exit(withStore(location, tableNames));
          const error =
            Exit.isFailure(refused) && refused.cause._tag === "Fail" ? refused.cause.error : undefined;
          expect(error?._tag).toBe("StoreOpenError");
          expect(error?.code).toBe("DATABASE_NEWER_THAN_APP");
          expect(error?.message).toMatch(
            /^DATABASE_NEWER_THAN_APP: The database .+ was migrated by a newer release of this app: it records 1 migration this release does not have/,
          );
        }),
      ),
    );

    it.effect("refuses a negative reservation at the storage level", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          const insertKey = (reserved: number) => (db: SqlClient) =>
            db.transaction(async (tx) => {
              await tx.run(sql`insert into applications (id, name, address, status, created_at)
                values ('a', 'n', 'p', 'active', 1) on conflict (id) do nothing`);
              await tx.run(sql`insert into api_keys (id, application_id, name, prefix, hash, status, created_at, reserved_micro_usd)
                values ('k', 'a', 'n', 'p', 'h', 'active', 1, ${reserved})`);
            });
          const refused = yield* Effect.exit(
            Effect.scoped(
              Effect.flatMap(GatewayStore, (db) =>
                Effect.tryPromise({ try: () => insertKey(-1)(db), catch: (e) => String(e) }),
              ).pipe(Effect.provide(GatewayStore.layer(location))),
            ),
          );
          expect(Exit.isFailure(refused)).toBe(true);
          expect(Exit.isFailure(refused) && refused.cause._tag === "Fail" && refused.cause.error).toMatch(
            /api_keys_reserved_nonnegative|CHECK/,
          );
          // Rolled back whole: the application insert of the same transaction is gone too.
          const apps = yield* withStore(location, (db) => db.all(sql`select id from applications`));
          expect(apps).toEqual([]);
        }),
      ),
    );

    it.effect(
      "fails a statement with the driver's code as the reason, never the statement or its values",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const { location } = yield* freshLocation(dialect);
            const failed = yield* Effect.flip(
              Effect.flatMap(GatewayStore, (db) =>
                storeRunner(db)("read a key", (d) =>
                  // PostgreSQL quotes the value it cannot cast in its message; SQLite casts it, so a
                  // missing table fails the statement there.
                  d.all(
                    sql`select cast(${"sk-secret-value"} as integer) as n ${dialect === "sqlite" ? sql`from no_such_table` : sql``}`,
                  ),
                ),
              ).pipe(Effect.provide(GatewayStore.layer(location))),
            );
            expect(failed._tag === "StorageError" && failed.operation).toBe("read a key");
            expect(failed.reason).toBe(
              dialect === "sqlite" ? "SQLITE_ERROR: no such table: no_such_table" : "SQLSTATE 22P02",
            );
            expect(failed.reason).not.toMatch(/select|sk-secret-value/i);
          }),
        ),
    );

    it.effect("returns BIGINT money and times as JS numbers, sums above 2^53 exactly as text", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          const big = 2 ** 52 + 1;
          const row = yield* withStore(location, async (db) => {
            await db.run(
              sql`insert into weekly_rates (week_id, rate_micro_usd_per_pokt, set_at) values ('2026-W01', ${big}, ${big})`,
            );
            await db.run(
              sql`insert into weekly_rates (week_id, rate_micro_usd_per_pokt, set_at) values ('2026-W02', ${big}, 0)`,
            );
            return db.get<{ rate: number; total: string }>(sql`
              select max(rate_micro_usd_per_pokt) as "rate", cast(sum(rate_micro_usd_per_pokt) as text) as "total"
              from weekly_rates`);
          });
          expect(row?.rate).toBe(big);
          expect(row?.total).toBe((2n * BigInt(big)).toString());
        }),
      ),
    );
  });
});

it.effect(
  "a PostgreSQL URL that is not one, or a server that does not answer, fails with a stable code",
  () =>
    Effect.gen(function* () {
      const bad = yield* Effect.exit(
        Effect.scoped(Effect.provide(GatewayStore, GatewayStore.layer({ url: "mysql://x/y" }))),
      );
      expect(Exit.isFailure(bad) && String(bad.cause)).toContain("INVALID_CONFIG");
      const down = yield* Effect.exit(
        Effect.scoped(
          Effect.provide(GatewayStore, GatewayStore.layer({ url: "postgres://u:secret@127.0.0.1:1/none" })),
        ),
      );
      const message = Exit.isFailure(down) ? String(down.cause) : "";
      expect(message).toContain("DATABASE_UNAVAILABLE");
      expect(message).not.toContain("secret");
    }),
);
