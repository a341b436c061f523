import { Effect, Exit, Layer, ManagedRuntime } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { withKeyWritesHeld } from "../../test/support/key-writes-held.js";
import {
  dialectMissing,
  freshLocation,
  STORE_DIALECTS,
  type StoreDialect,
} from "../../test/support/temp-database.js";
import { GatewayStore, type StoreLocation } from "../db/database.js";
import { Limits } from "../limits/limits.js";
import { Accounts } from "./accounts.js";
import { AccountsConfig } from "./accounts-config.js";
import { AccountsLive, type KeyCaps, type NewKey } from "./index.js";

/** A gateway process (a replica): its own connection (or pool) to the database at `location`. */
const replica = (location: StoreLocation) =>
  ManagedRuntime.make(
    AccountsLive.pipe(
      Layer.provideMerge(Layer.merge(GatewayStore.layer(location), AccountsConfig.layerTest)),
    ),
  );
type Replica = ReturnType<typeof replica>;

const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : undefined;

const createKey = (r: Replica, applicationId: string, input: NewKey, caps: KeyCaps) =>
  r.runPromiseExit(Effect.flatMap(Accounts, (a) => a.createKey(applicationId, input, caps)));

const setBudget = (r: Replica, keyId: string, budgetMicroUsd: number, caps: KeyCaps) =>
  r.runPromiseExit(Effect.flatMap(Accounts, (a) => a.updateKey(keyId, { budgetMicroUsd }, caps)));

const keysOf = (r: Replica, applicationId: string) =>
  r.runPromise(Effect.flatMap(Accounts, (a) => a.listKeys({ applicationId })));

/** What the application's keys hold against the cap: active keys their budget, revoked ones what they spent. */
const held = async (r: Replica, applicationId: string) => {
  let total = 0;
  for (const key of await keysOf(r, applicationId)) {
    if (key.status === "active") total += key.budgetMicroUsd ?? 0;
    else total += (await r.runPromise(Effect.flatMap(Limits, (l) => l.usage(key.id)))).spentMicroUsd;
  }
  return total;
};

/** A key that spent `micro` micro-USD through the real reserve-and-settle path, then was revoked. */
const spentAndRevoked = async (r: Replica, applicationId: string, micro: number) => {
  const made = await r.runPromise(
    Effect.flatMap(Accounts, (a) => a.createKey(applicationId, { name: "spender", budgetMicroUsd: micro })),
  );
  await r.runPromise(
    Effect.gen(function* () {
      const accounts = yield* Accounts;
      const limits = yield* Limits;
      const key = yield* accounts.authenticate(made.secret);
      const reservation = yield* limits.reserve(key, { tokens: 10, costMicroUsd: micro });
      yield* limits.settle(reservation, { tokens: 10, costMicroUsd: micro });
      yield* accounts.revokeKey(made.key.id);
    }),
  );
};

const CAPS = { maxActiveKeys: 2, maxHeldMicroUsd: 40_000_000 } satisfies KeyCaps;

describe.each(STORE_DIALECTS)("key caps held across replicas on %s", (dialect: StoreDialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const scope = ManagedRuntime.make(Layer.empty);
    const opened: { dispose(): Promise<void> }[] = [];
    afterAll(async () => {
      await Promise.all(opened.map((r) => r.dispose()));
      await scope.dispose();
    });
    /** Three replicas on one fresh database, an application, and the operator's own connection. */
    const setup = async () => {
      const location = await scope.runPromise(
        Effect.map(freshLocation(dialect), (l) => l.location).pipe(Effect.scoped),
      );
      const replicas = [replica(location), replica(location), replica(location)];
      const operator = ManagedRuntime.make(GatewayStore.layer(location));
      opened.push(...replicas, operator);
      const [first] = replicas as [Replica, Replica, Replica];
      const app = await first.runPromise(
        Effect.flatMap(Accounts, (a) => a.createApplication({ name: "Acme" })),
      );
      await Promise.all(replicas.map((r) => r.runPromise(Accounts)));
      return { replicas, first, app, db: await operator.runPromise(GatewayStore) };
    };
    /**
     * Runs the changes at once; on PostgreSQL, with the key table's writes held until every change
     * waits on a lock, so each one's check has run before any write lands unless the checks are
     * taken in turn.
     */
    const atOnce = async <A>(db: Awaited<ReturnType<typeof setup>>["db"], changes: (() => Promise<A>)[]) =>
      dialect === "postgres"
        ? withKeyWritesHeld(db, changes.length, () => Promise.all(changes.map((c) => c())))
        : Promise.all(changes.map((c) => c()));

    it("three replicas creating keys for one application at once: exactly maxActiveKeys are made", async () => {
      const { replicas, first, app, db } = await setup();
      const exits = await atOnce(
        db,
        replicas.map(
          (r, i) => () => createKey(r, app.id, { name: `k${i}`, budgetMicroUsd: 5_000_000 }, CAPS),
        ),
      );
      expect(exits.filter(Exit.isSuccess)).toHaveLength(2);
      expect(exits.filter(Exit.isFailure).map(failureTag)).toEqual(["KeyLimitReached"]);
      expect((await keysOf(first, app.id)).filter((k) => k.status === "active")).toHaveLength(2);
    });

    it("two replicas raising two keys' budgets at once: the account's held budget stays within its cap", async () => {
      const { replicas, first, app, db } = await setup();
      await spentAndRevoked(first, app.id, 750);
      const keys = [];
      for (const name of ["a", "b"]) {
        const made = await createKey(first, app.id, { name, budgetMicroUsd: 10_000_000 }, CAPS);
        if (Exit.isFailure(made)) throw new Error(`key ${name} not made`);
        keys.push(made.value.key.id);
      }
      // Each raise fits beside the other key's present budget ($40 - $10.00075); both do not.
      const exits = await atOnce(
        db,
        keys.map((id, i) => () => setBudget(replicas[i]!, id, 20_000_000, CAPS)),
      );
      expect(exits.map(failureTag).sort()).toEqual(["AccountBudgetReached", undefined]);
      expect(await held(first, app.id)).toBe(30_000_750);
    });

    it("lowers a default budget to the room left, refuses an asked one, and skips the cap beside an unlimited key", async () => {
      const { first, app } = await setup();
      await spentAndRevoked(first, app.id, 750);
      const a = await createKey(first, app.id, { name: "a", budgetMicroUsd: 20_000_000 }, CAPS);
      expect(Exit.isSuccess(a)).toBe(true);
      const asked = await createKey(first, app.id, { name: "b", budgetMicroUsd: 20_000_000 }, CAPS);
      expect(Exit.isFailure(asked) && asked.cause._tag === "Fail" && asked.cause.error).toMatchObject({
        _tag: "AccountBudgetReached",
        code: "ACCOUNT_BUDGET_REACHED",
        maxHeldMicroUsd: 40_000_000,
        roomMicroUsd: 19_999_250,
      });
      const fitted = await createKey(
        first,
        app.id,
        { name: "b", budgetMicroUsd: 20_000_000 },
        { ...CAPS, fitBudgetToRoom: true },
      );
      expect(Exit.isSuccess(fitted) && fitted.value.key.budgetMicroUsd).toBe(19_999_250);
      // The limit on active keys is checked first.
      expect(failureTag(await createKey(first, app.id, { name: "c" }, CAPS))).toBe("KeyLimitReached");
      // Beside a key the operator left unlimited, the budget cap does not apply.
      if (Exit.isFailure(a)) throw new Error("key a not made");
      await first.runPromise(
        Effect.flatMap(Accounts, (x) => x.updateKey(a.value.key.id, { budgetMicroUsd: null })),
      );
      const other = Exit.isSuccess(fitted) ? fitted.value.key.id : "";
      expect(Exit.isSuccess(await setBudget(first, other, 50_000_000, CAPS))).toBe(true);
    });

    it("refuses keys of a disabled or unknown application, and a capped change of an unknown key", async () => {
      const { first, app } = await setup();
      await first.runPromise(Effect.flatMap(Accounts, (a) => a.disableApplication(app.id)));
      expect(failureTag(await createKey(first, app.id, { name: "k" }, CAPS))).toBe("ApplicationDisabled");
      expect(failureTag(await createKey(first, "app_none", { name: "k" }, {}))).toBe("ApplicationNotFound");
      expect(failureTag(await setBudget(first, "key_none", 1, CAPS))).toBe("ApiKeyNotFound");
      expect(failureTag(await setBudget(first, "key_none", 1, {}))).toBe("ApiKeyNotFound");
    });
  });
});
