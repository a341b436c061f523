import { rmSync } from "node:fs";
import { openPostgres, openSqlite } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect, type Scope } from "effect";
import { describe, expect, it } from "vitest";
import { GatewayStore, MIGRATIONS_FOLDER, PG_MIGRATIONS_FOLDER } from "../src/db/database.js";
import { releaseStaleReservations } from "../src/limits/budget-ledger.js";
import { proofLedger } from "../src/settlement/relay-ledger.js";
import { migrationsBefore } from "./support/migrations-before.js";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "./support/temp-database.js";

const T = 1_800_000_000_000;
const MINUTE = 60_000;

describe.each(STORE_DIALECTS)("upgrading to the lean relay indexes on %s", (dialect) => {
  it.skipIf(dialectMissing(dialect))(
    "the rows stay; the sweep still finds old reservations of every key, and proofs their leaves",
    () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const { location } = yield* freshLocation(dialect);
            const before =
              "url" in location
                ? migrationsBefore(PG_MIGRATIONS_FOLDER, "0013_lean_relay_indexes")
                : migrationsBefore(MIGRATIONS_FOLDER, "0015_lean_relay_indexes");
            yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(before, { recursive: true })));
            // Three keys: a crashed relay's hold (k1, k3), settled rows that left the window (k2),
            // rows still in it (k1, k2); and two relays of one session in the ledger.
            const insert = `
              insert into applications (id, name, address, status, created_at) values ('a1', 'Acme', 'pokt1acme', 'active', 0);
              insert into api_keys (id, application_id, name, prefix, hash, status, reserved_micro_usd, created_at)
                values ('k1', 'a1', 'k', 'p', 'h1', 'active', 700, 0), ('k2', 'a1', 'k', 'p', 'h2', 'active', 0, 0),
                       ('k3', 'a1', 'k', 'p', 'h3', 'active', 40, 0);
              insert into key_reservations (id, key_id, at, requests, tokens, held_micro_usd, open)
                values ('r1', 'k1', ${T - 30 * MINUTE}, 1, 100, 500, 1), ('r2', 'k1', ${T - 1_000}, 1, 50, 200, 1),
                       ('r3', 'k2', ${T - 10 * MINUTE}, 1, 7, 0, 0), ('r4', 'k2', ${T - 2_000}, 1, 1, 0, 0),
                       ('r5', 'k3', ${T - 20 * MINUTE}, 1, 1, 40, 1);
              insert into relays (request_hash, application_id, key_id, service_id, tier, operation, session_id,
                  session_number, outcome, leaf_hash, compute_units, node_address, created_at)
                values ('h-a', 'a1', 'k1', 's', 't', 'chat.completions', 'sess', 1, 'ok', 'leaf-a', 40, 'pokt1node', ${T}),
                       ('h-b', 'a1', 'k1', 's', 't', 'chat.completions', 'sess', 1, 'ok', 'leaf-b', 60, 'pokt1node', ${T})`;
            const previous: Effect.Effect<void, unknown, Scope.Scope> =
              "url" in location
                ? Effect.flatMap(
                    openPostgres({ url: location.url, migrationsFolder: before }),
                    ({ client }) =>
                      Effect.promise(async () => {
                        for (const statement of insert.split(";")) await client.run(sql.raw(statement));
                      }),
                  )
                : Effect.map(
                    openSqlite({ file: location.file, schema: {}, migrationsFolder: before }),
                    ({ sqlite }) => {
                      sqlite.exec(insert);
                    },
                  );
            yield* Effect.scoped(previous);
            const after = yield* Effect.flatMap(GatewayStore, (db) =>
              Effect.promise(async () => {
                const leaf = (await proofLedger(db, "sess", "pokt1node", "leaf-b")).leafComputeUnits;
                const released = await releaseStaleReservations(db, T - 15 * MINUTE, T);
                const rows = await db.all<{ id: string; open: number }>(
                  sql`select id, open from key_reservations order by id`,
                );
                const keys = await db.all<{ id: string; reserved: number }>(
                  sql`select id, reserved_micro_usd as "reserved" from api_keys order by id`,
                );
                return { leaf, released, rows, keys };
              }),
            ).pipe(Effect.provide(GatewayStore.layer(location)));
            expect(after.leaf).toBe(60);
            expect(after.released).toBe(2);
            // r1 and r5 given back (their rows gone), r3 left the window; the rest stay as they were.
            expect(after.rows).toEqual([
              { id: "r2", open: 1 },
              { id: "r4", open: 0 },
            ]);
            expect(after.keys.map((k) => ({ ...k, reserved: Number(k.reserved) }))).toEqual([
              { id: "k1", reserved: 200 },
              { id: "k2", reserved: 0 },
              { id: "k3", reserved: 0 },
            ]);
          }),
        ),
      ),
    120_000,
  );
});
