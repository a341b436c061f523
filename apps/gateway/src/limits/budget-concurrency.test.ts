import { sql } from "drizzle-orm";
import { Effect, Exit, Layer, ManagedRuntime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ageReservations } from "../../test/support/aged-reservations.js";
import {
  dialectMissing,
  freshLocation,
  STORE_DIALECTS,
  type StoreDialect,
} from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import type { AuthenticatedKey } from "../accounts/records.js";
import { GatewayStore, type StoreLocation } from "../db/database.js";
import { rebuildBuckets, releaseAllReservations } from "./budget-ledger.js";
import { Limits, STALE_RESERVATION_MS } from "./limits.js";

const PRICE = 750;
/** A gateway process (a replica): its own connection (or pool) to the database at `location`. */
const gateway = (location: StoreLocation) =>
  ManagedRuntime.make(
    AccountsLive.pipe(
      Layer.provideMerge(Layer.merge(GatewayStore.layer(location), AccountsConfig.layerTest)),
    ),
  );

/** A key of a new application, with these limits. */
const keyWith = (limits: { budgetMicroUsd?: number; rpm?: number; tpm?: number }) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts;
    const app = yield* accounts.createApplication({ name: "Acme" });
    const { secret } = yield* accounts.createKey(app.id, { name: "k", ...limits });
    return yield* accounts.authenticate(secret);
  });

const newKey = (budgetMicroUsd: number) => keyWith({ budgetMicroUsd });

/**
 * Reserves after a pause of 0–4 ms set by the request's index, so that the requests really
 * interleave, the same way every run (the count must hold for any interleaving).
 */
const reserveOne = (key: AuthenticatedKey, index = 0) =>
  Effect.flatMap(Limits, (limits) =>
    Effect.sleep((index * 7) % 5).pipe(
      Effect.zipRight(limits.reserve(key, { tokens: 1_000, costMicroUsd: PRICE })),
    ),
  );

const usage = (keyId: string) => Effect.flatMap(Limits, (l) => l.usage(keyId));

describe.each(STORE_DIALECTS)("budget reservations under concurrency on %s", (dialect: StoreDialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const scope = ManagedRuntime.make(Layer.empty);
    const location = () =>
      scope.runPromise(Effect.map(freshLocation(dialect), (l) => l.location).pipe(Effect.scoped));
    beforeAll(() => scope.runPromise(Effect.void));
    afterAll(() => scope.dispose());

    it("200 concurrent reservations against a budget for exactly 50: exactly 50 succeed", async () => {
      const runtime = gateway(await location());
      const key = await runtime.runPromise(newKey(50 * PRICE));
      const exits = await Promise.all(
        Array.from({ length: 200 }, (_, i) => runtime.runPromiseExit(reserveOne(key, i))),
      );
      const won = exits.filter(Exit.isSuccess).map((e) => e.value);
      expect(won).toHaveLength(50);
      for (const e of exits.filter(Exit.isFailure)) {
        expect(e.cause._tag === "Fail" && e.cause.error._tag).toBe("BudgetExhausted");
      }
      expect(await runtime.runPromise(usage(key.keyId))).toMatchObject({ reservedMicroUsd: 50 * PRICE });
      await Promise.all(
        won.map((r) =>
          runtime.runPromise(Effect.flatMap(Limits, (l) => l.settle(r, { tokens: 10, costMicroUsd: PRICE }))),
        ),
      );
      expect(await runtime.runPromise(usage(key.keyId))).toMatchObject({
        requests: 50,
        spentMicroUsd: 50 * PRICE,
        reservedMicroUsd: 0,
        remainingMicroUsd: 0,
      });
      await runtime.dispose();
    });

    it("two gateways on one database (two connections) still cannot overspend: the UPDATE holds the condition", async () => {
      const where = await location();
      const a = gateway(where);
      const key = await a.runPromise(newKey(50 * PRICE));
      const b = gateway(where);
      await b.runPromise(Limits);
      const exits = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).runPromiseExit(reserveOne(key, i))),
      );
      expect(exits.filter(Exit.isSuccess)).toHaveLength(50);
      await Promise.all([a.dispose(), b.dispose()]);
    });

    it("two gateways share one key's rate window: an RPM of 10 admits 10 across both", async () => {
      const where = await location();
      const a = gateway(where);
      const limited = await a.runPromise(keyWith({ rpm: 10 }));
      const b = gateway(where);
      const exits = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? a : b).runPromiseExit(
            Effect.flatMap(Limits, (l) => l.reserve(limited, { tokens: 1, costMicroUsd: 0 })),
          ),
        ),
      );
      expect(exits.filter(Exit.isSuccess)).toHaveLength(10);
      for (const e of exits.filter(Exit.isFailure)) {
        expect(e.cause._tag === "Fail" && e.cause.error._tag).toBe("RateLimited");
      }
      await Promise.all([a.dispose(), b.dispose()]);
    });

    if (dialect === "sqlite") {
      it("reservations left by a crash are released when the gateway starts again", async () => {
        const where = await location();
        const before = gateway(where);
        const key = await before.runPromise(newKey(3 * PRICE));
        for (let i = 0; i < 3; i++) await before.runPromise(reserveOne(key));
        expect(Exit.isFailure(await before.runPromiseExit(reserveOne(key)))).toBe(true);
        await before.dispose(); // the relays never settle: as if the process died
        // What the start-up gives back, and logs: three reservations of one key.
        const store = ManagedRuntime.make(GatewayStore.layer(where));
        expect(
          await store.runPromise(
            Effect.flatMap(GatewayStore, (db) => Effect.promise(() => releaseAllReservations(db))),
          ),
        ).toEqual({ reservations: 3, keys: 1 });
        await store.dispose();
        const after = gateway(where);
        expect(await after.runPromise(usage(key.keyId))).toMatchObject({
          reservedMicroUsd: 0,
          spentMicroUsd: 0,
        });
        for (let i = 0; i < 3; i++) await after.runPromise(reserveOne(key));
        await after.dispose();
      });
    } else {
      it("a replica starting keeps the holds of relays in flight elsewhere; holds older than any relay are given back", async () => {
        const where = await location();
        const running = gateway(where);
        const key = await running.runPromise(newKey(3 * PRICE));
        for (let i = 0; i < 3; i++) await running.runPromise(reserveOne(key));
        const joining = gateway(where);
        expect(await joining.runPromise(usage(key.keyId))).toMatchObject({ reservedMicroUsd: 3 * PRICE });
        await joining.dispose();
        await running.dispose(); // its relays never settle: as if the process died
        await scope.runPromise(
          Effect.scoped(
            Effect.flatMap(GatewayStore, (db) =>
              Effect.promise(() => ageReservations(db, STALE_RESERVATION_MS + 1)),
            ).pipe(Effect.provide(GatewayStore.layer(where))),
          ),
        );
        const later = gateway(where);
        expect(await later.runPromise(usage(key.keyId))).toMatchObject({
          reservedMicroUsd: 0,
          spentMicroUsd: 0,
        });
        await later.dispose();
      });

      it("a settlement that waited on a key's limit change corrects the rebuilt bucket, so the window holds", async () => {
        const where = await location();
        const runtime = gateway(where);
        const key = await runtime.runPromise(keyWith({ tpm: 10_000 }));
        const reservation = await runtime.runPromise(
          Effect.flatMap(Limits, (l) => l.reserve(key, { tokens: 100, costMicroUsd: 0 })),
        );
        // An operator's limit change on another connection: the key's row locked, its buckets
        // rebuilt from its rows, committed only once the settlement waits on that lock.
        const operator = ManagedRuntime.make(GatewayStore.layer(where));
        const db = await operator.runPromise(GatewayStore);
        let settling: Promise<number> | undefined;
        await db.transaction(async (tx) => {
          await tx.run(sql`update api_keys set tpm = 20000 where id = ${key.keyId}`);
          settling = runtime.runPromise(
            Effect.flatMap(Limits, (l) => l.settle(reservation, { tokens: 10, costMicroUsd: 0 })),
          );
          for (;;) {
            const waiting = await db.get<{ n: number }>(sql`
              select count(*)::int as "n" from pg_stat_activity
              where wait_event_type = 'Lock' and query like '%with closed as%'`);
            if ((waiting?.n ?? 0) > 0) break;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          await rebuildBuckets(tx, key.keyId, reservation.createdAt);
        });
        expect(await settling).toBe(0);
        const bucket = await db.get<{ tokens: number }>(
          sql`select cast(sum(tokens) as int) as "tokens" from key_rate_buckets where key_id = ${key.keyId}`,
        );
        expect(bucket?.tokens).toBe(10);
        expect((await runtime.runPromise(usage(key.keyId))).window).toMatchObject({
          requests: 1,
          tokens: 10,
        });
        await operator.dispose();
        await runtime.dispose();
      });
    }
  });
});
