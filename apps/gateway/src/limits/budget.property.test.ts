import { Effect, Exit, Layer, ManagedRuntime } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import { Limits, type Reservation } from "./limits.js";

const Op = fc.oneof(
  fc.record({ op: fc.constant("reserve" as const), cost: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({
    op: fc.constant("settle" as const),
    pick: fc.nat(),
    actual: fc.integer({ min: 0, max: 4_000 }),
  }),
  fc.record({ op: fc.constant("release" as const), pick: fc.nat() }),
);

describe.each(STORE_DIALECTS)("budget ledger on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const runtime = ManagedRuntime.make(
      AccountsLive.pipe(Layer.provideMerge(Layer.merge(tempStore(dialect), AccountsConfig.layerTest))),
    );
    beforeAll(() => runtime.runPromise(Limits));
    afterAll(() => runtime.dispose());

    it("for any sequence of reserve/settle/release: spent ≤ budget, reserved ≥ 0, and both match a model", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.option(fc.integer({ min: 0, max: 10_000 })),
          fc.array(Op, { maxLength: 40 }),
          (budget, ops) =>
            runtime.runPromise(
              Effect.gen(function* () {
                const accounts = yield* Accounts;
                const limits = yield* Limits;
                const app = yield* accounts.createApplication({ name: "p" });
                const { secret } = yield* accounts.createKey(app.id, { name: "k", budgetMicroUsd: budget });
                const key = yield* accounts.authenticate(secret);
                const live: Reservation[] = [];
                const model = { spent: 0, reserved: 0 };
                for (const step of ops) {
                  if (step.op === "reserve") {
                    const fits = budget === null || model.spent + model.reserved + step.cost <= budget;
                    const exit = yield* Effect.exit(
                      limits.reserve(key, { tokens: 1, costMicroUsd: step.cost }),
                    );
                    expect(Exit.isSuccess(exit)).toBe(fits);
                    if (Exit.isSuccess(exit)) {
                      live.push(exit.value);
                      model.reserved += step.cost;
                    }
                  } else if (live.length > 0) {
                    const [r] = live.splice(step.pick % live.length, 1);
                    if (r === undefined) continue;
                    model.reserved -= r.costMicroUsd;
                    if (step.op === "release") yield* limits.release(r);
                    else {
                      const room = budget === null ? step.actual : budget - model.spent - model.reserved;
                      const charged = yield* limits.settle(r, { tokens: 1, costMicroUsd: step.actual });
                      expect(charged).toBe(Math.min(step.actual, Math.max(0, room)));
                      model.spent += charged;
                    }
                  }
                  const usage = yield* limits.usage(key.keyId);
                  expect(usage.reservedMicroUsd).toBeGreaterThanOrEqual(0);
                  expect(usage.reservedMicroUsd).toBe(model.reserved);
                  expect(usage.spentMicroUsd).toBe(model.spent);
                  if (budget !== null)
                    expect(usage.spentMicroUsd + usage.reservedMicroUsd).toBeLessThanOrEqual(budget);
                }
              }),
            ),
        ),
        { numRuns: dialect === "sqlite" ? 150 : 40 },
      );
    });
  });
});
