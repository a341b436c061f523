import { DEFAULT_CATALOG } from "@pocket-ai/protocol";
import type { SqlClient } from "@pocket-ai/runtime";
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
import type { RelayRow } from "../db/relay-rows.js";
import { longestRelayMs, RoutingConfig } from "../routing/routing-config.js";
import { releaseStaleReservations, settleBudget } from "./budget-ledger.js";
import {
  Limits,
  LimitsSettings,
  type Reservation,
  STALE_RESERVATION_MS,
  staleReservationMs,
} from "./limits.js";

/** A `stable-diffusion:batch` image: 600 s per attempt, 3 attempts with the default configuration. */
const PRICE = 12_000;

/** A gateway process (a replica) on the database at `location`, sweeping holds older than `staleAfter`. */
const gateway = (location: StoreLocation, staleAfter?: number) =>
  ManagedRuntime.make(
    AccountsLive.pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          GatewayStore.layer(location),
          AccountsConfig.layerTest,
          staleAfter === undefined ? Layer.empty : LimitsSettings.layer({ staleReservationMs: staleAfter }),
        ),
      ),
    ),
  );
type Gateway = ReturnType<typeof gateway>;

const newKey = (budgetMicroUsd: number) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts;
    const app = yield* accounts.createApplication({ name: "Acme" });
    const { secret } = yield* accounts.createKey(app.id, { name: "k", budgetMicroUsd });
    return yield* accounts.authenticate(secret);
  });

const reserve = (g: Gateway, key: AuthenticatedKey, costMicroUsd = PRICE) =>
  g.runPromise(Effect.flatMap(Limits, (l) => l.reserve(key, { tokens: 0, costMicroUsd })));

/** The ledger row of the relay `n` of a key, priced at what it was charged. */
const rowOf =
  (key: AuthenticatedKey, reservation: Reservation, n: number) =>
  (chargedMicroUsd: number): RelayRow => ({
    requestHash: n.toString(16).padStart(64, "0"),
    applicationId: key.applicationId,
    keyId: key.keyId,
    serviceId: "stable-diffusion",
    tier: "batch",
    operation: "images.generations",
    nodeAddress: "pokt1node",
    sessionId: "s1",
    sessionNumber: 1,
    outcome: "ok",
    leafHash: "cd".repeat(32),
    computeUnits: PRICE,
    images: 1,
    priceMicroUsd: chargedMicroUsd,
    createdAt: reservation.createdAt,
  });

/** The relay answers and settles, with its ledger row, as the front door settles it. */
const settle = (g: Gateway, key: AuthenticatedKey, r: Reservation, n: number, costMicroUsd = PRICE) =>
  g.runPromise(Effect.flatMap(Limits, (l) => l.settle(r, { tokens: 0, costMicroUsd }, rowOf(key, r, n))));

/**
 * A sweep (of any replica) once `r` is older than the stale age: it cannot tell a live relay's
 * hold from a crashed process's, and gives it back.
 */
const sweepPast = (db: SqlClient, r: Reservation) =>
  releaseStaleReservations(db, r.createdAt + 1, r.createdAt + STALE_RESERVATION_MS + 1);

const ledger = async (db: SqlClient, keyId: string) =>
  db.all<{ price: number }>(
    sql`select price_micro_usd as "price" from relays where key_id = ${keyId} order by request_hash`,
  );

const usage = (g: Gateway, keyId: string) => g.runPromise(Effect.flatMap(Limits, (l) => l.usage(keyId)));

describe.each(STORE_DIALECTS)("a relay that outlives its budget hold on %s", (dialect: StoreDialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const scope = ManagedRuntime.make(Layer.empty);
    const location = () =>
      scope.runPromise(Effect.map(freshLocation(dialect), (l) => l.location).pipe(Effect.scoped));
    beforeAll(() => scope.runPromise(Effect.void));
    afterAll(() => scope.dispose());

    it("is charged once and written to the ledger when it ends after a sweep gave its hold back", async () => {
      const a = gateway(await location());
      const db = await a.runPromise(GatewayStore);
      const key = await a.runPromise(newKey(10 * PRICE));
      const r = await reserve(a, key);
      expect(await sweepPast(db, r)).toBe(1);
      expect(await usage(a, key.keyId)).toMatchObject({ reservedMicroUsd: 0, spentMicroUsd: 0 });

      // The client gets the answer once this has committed: the relay is charged and in the ledger.
      expect(await settle(a, key, r, 1)).toBe(PRICE);
      expect(await ledger(db, key.keyId)).toEqual([{ price: PRICE }]);
      expect(await usage(a, key.keyId)).toMatchObject({
        requests: 1,
        spentMicroUsd: PRICE,
        reservedMicroUsd: 0,
        remainingMicroUsd: 9 * PRICE,
      });

      // Settled again (a try whose commit was not acknowledged, on any replica): nothing more.
      const again = {
        id: r.id,
        keyId: key.keyId,
        reserved: PRICE,
        reservedTokens: 0,
        actual: PRICE,
        requests: 1,
        tokens: 0,
        now: r.createdAt,
      };
      expect(await new Promise(settleBudget(db, again, rowOf(key, r, 1)))).toBe(0);
      expect(await ledger(db, key.keyId)).toEqual([{ price: PRICE }]);
      expect(await usage(a, key.keyId)).toMatchObject({
        requests: 1,
        spentMicroUsd: PRICE,
        reservedMicroUsd: 0,
      });
      await a.dispose();
    });

    it("is charged in full up to its reservation when others spent the budget meanwhile, and only what is left above it", async () => {
      const a = gateway(await location());
      const db = await a.runPromise(GatewayStore);
      const key = await a.runPromise(newKey(4 * PRICE));
      const first = await reserve(a, key);
      const second = await reserve(a, key);
      expect(await sweepPast(db, second)).toBe(2);
      // The budget the sweep gave back goes to other relays.
      const other = await reserve(a, key, 2 * PRICE);
      expect(await settle(a, key, other, 3, 2 * PRICE)).toBe(2 * PRICE);

      // Above its reservation, a relay is charged only what the budget has left (2 × PRICE)...
      expect(await settle(a, key, first, 1, 3 * PRICE)).toBe(2 * PRICE);
      // ...and up to its reservation, in full: the budget it held was spent by others.
      expect(await settle(a, key, second, 2)).toBe(PRICE);
      expect(await ledger(db, key.keyId)).toEqual([
        { price: 2 * PRICE },
        { price: PRICE },
        { price: 2 * PRICE },
      ]);
      expect(await usage(a, key.keyId)).toMatchObject({
        requests: 3,
        spentMicroUsd: 5 * PRICE,
        reservedMicroUsd: 0,
        remainingMicroUsd: 0,
      });
      const refused = await a.runPromiseExit(
        Effect.flatMap(Limits, (l) => l.reserve(key, { tokens: 0, costMicroUsd: 1 })),
      );
      expect(Exit.isFailure(refused) && refused.cause._tag === "Fail" && refused.cause.error._tag).toBe(
        "BudgetExhausted",
      );
      await a.dispose();
    });

    it("that failed is not charged, and its release gives back nothing the sweep gave back already", async () => {
      const a = gateway(await location());
      const db = await a.runPromise(GatewayStore);
      const key = await a.runPromise(newKey(10 * PRICE));
      const failed = await reserve(a, key);
      expect(await sweepPast(db, failed)).toBe(1);
      const running = await reserve(a, key);
      await a.runPromise(Effect.flatMap(Limits, (l) => l.release(failed)));
      expect(await usage(a, key.keyId)).toMatchObject({
        requests: 0,
        spentMicroUsd: 0,
        reservedMicroUsd: PRICE,
      });
      // Settling after its release (the front door never does) charges nothing either.
      expect(await settle(a, key, failed, 1)).toBe(0);
      expect(await settle(a, key, running, 2)).toBe(PRICE);
      expect(await ledger(db, key.keyId)).toEqual([{ price: PRICE }]);
      expect(await usage(a, key.keyId)).toMatchObject({
        requests: 1,
        spentMicroUsd: PRICE,
        reservedMicroUsd: 0,
      });
      await a.dispose();
    });

    if (dialect === "postgres") {
      it("a settlement that waited on a sweep's release of its hold still charges the relay and writes its row", async () => {
        const where = await location();
        const a = gateway(where);
        const key = await a.runPromise(newKey(10 * PRICE));
        const r = await reserve(a, key);
        // Another replica's sweep: the hold's row deleted and its budget given back, committed only
        // once the settlement waits on the row's lock.
        const sweeper = ManagedRuntime.make(GatewayStore.layer(where));
        const db = await sweeper.runPromise(GatewayStore);
        let settling: Promise<number> | undefined;
        await db.transaction(async (tx) => {
          await tx.run(sql`delete from key_reservations where id = ${r.id} and open = 1`);
          await tx.run(
            sql`update api_keys set reserved_micro_usd = reserved_micro_usd - ${PRICE} where id = ${key.keyId}`,
          );
          settling = settle(a, key, r, 1);
          for (;;) {
            const waiting = await db.get<{ n: number }>(sql`
              select count(*)::int as "n" from pg_stat_activity
              where wait_event_type = 'Lock' and query like '%with closed as%'`);
            if ((waiting?.n ?? 0) > 0) break;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        });
        expect(await settling).toBe(PRICE);
        expect(await ledger(db, key.keyId)).toEqual([{ price: PRICE }]);
        expect(await usage(a, key.keyId)).toMatchObject({
          requests: 1,
          spentMicroUsd: PRICE,
          reservedMicroUsd: 0,
        });
        await Promise.all([a.dispose(), sweeper.dispose()]);
      });

      it("a replica starting keeps a hold as long as the configuration lets its relay run", async () => {
        const where = await location();
        const running = gateway(where);
        const key = await running.runPromise(newKey(10 * PRICE));
        await reserve(running, key);
        await running.dispose(); // its relay never settles: as if the process died
        // The hold is now 30 minutes old: as long as a stable-diffusion:batch relay may run (3 × 600 s).
        const staleAfter = staleReservationMs(longestRelayMs(RoutingConfig.parse({}), DEFAULT_CATALOG));
        const age = async (ms: number) => {
          const store = ManagedRuntime.make(GatewayStore.layer(where));
          const db = await store.runPromise(GatewayStore);
          await ageReservations(db, ms);
          await store.dispose();
        };
        await age(30 * 60_000);
        const joining = gateway(where, staleAfter);
        expect(await usage(joining, key.keyId)).toMatchObject({ reservedMicroUsd: PRICE });
        await joining.dispose();
        // Past the longest relay and its margin: only a crashed process's hold can be that old.
        await age(staleAfter - 30 * 60_000 + 1);
        const later = gateway(where, staleAfter);
        expect(await usage(later, key.keyId)).toMatchObject({ reservedMicroUsd: 0, spentMicroUsd: 0 });
        await later.dispose();
      });
    }
  });
});

describe("staleReservationMs", () => {
  it("is the longest relay the configuration allows plus a margin, and at least 15 minutes", () => {
    expect(staleReservationMs(longestRelayMs(RoutingConfig.parse({}), DEFAULT_CATALOG))).toBe(35 * 60_000);
    expect(staleReservationMs(3 * 60_000)).toBe(STALE_RESERVATION_MS);
    const longest = RoutingConfig.parse({ timeouts: { "*:batch": 3_600_000 }, retry: { maxAttempts: 10 } });
    expect(staleReservationMs(longestRelayMs(longest, DEFAULT_CATALOG))).toBe(10 * 3_600_000 + 5 * 60_000);
  });
});
