import { Effect, Exit, Layer, ManagedRuntime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dialectMissing,
  freshLocation,
  STORE_DIALECTS,
  type StoreDialect,
} from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import { GatewayStore, type StoreLocation } from "../db/database.js";
import { Limits } from "./limits.js";

/** A gateway process (a replica): its own connection (or pool) to the database at `location`. */
const gateway = (location: StoreLocation) =>
  ManagedRuntime.make(
    AccountsLive.pipe(
      Layer.provideMerge(Layer.merge(GatewayStore.layer(location), AccountsConfig.layerTest)),
    ),
  );

describe.each(STORE_DIALECTS)("a key's limits across gateway processes on %s", (dialect: StoreDialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const scope = ManagedRuntime.make(Layer.empty);
    const location = () =>
      scope.runPromise(Effect.map(freshLocation(dialect), (l) => l.location).pipe(Effect.scoped));
    beforeAll(() => scope.runPromise(Effect.void));
    afterAll(() => scope.dispose());

    it("a rate limit set at one replica holds at another that knew the key without one", async () => {
      const where = await location();
      const a = gateway(where);
      const { key: created, secret } = await a.runPromise(
        Effect.gen(function* () {
          const accounts = yield* Accounts;
          const app = yield* accounts.createApplication({ name: "Acme" });
          return yield* accounts.createKey(app.id, { name: "k" });
        }),
      );
      const b = gateway(where);
      // Replica B authenticates the key while it has no limit: B's key cache holds "no limit".
      const cachedAtB = await b.runPromise(
        Effect.flatMap(Accounts, (accounts) => accounts.authenticate(secret)),
      );
      expect(cachedAtB.rpm).toBeNull();
      // The operator throttles the key through replica A.
      await a.runPromise(Effect.flatMap(Accounts, (accounts) => accounts.updateKey(created.id, { rpm: 2 })));
      // Requests to replica B within the key cache's lifetime.
      const exits: Exit.Exit<unknown, unknown>[] = [];
      for (let i = 0; i < 5; i++) {
        const key = await b.runPromise(Effect.flatMap(Accounts, (accounts) => accounts.authenticate(secret)));
        exits.push(
          await b.runPromiseExit(
            Effect.flatMap(Limits, (l) => l.reserve(key, { tokens: 1, costMicroUsd: 0 })),
          ),
        );
      }
      expect(exits.filter(Exit.isSuccess)).toHaveLength(2);
      for (const e of exits.filter(Exit.isFailure)) {
        expect(e.cause._tag === "Fail" && (e.cause.error as { _tag: string })._tag).toBe("RateLimited");
      }
      await Promise.all([a.dispose(), b.dispose()]);
    });
  });
});
