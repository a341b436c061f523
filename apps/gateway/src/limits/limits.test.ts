import { describe, expect, it } from "@effect/vitest";
import { plainSql } from "@pocket-ai/runtime";
import { Effect, Exit, TestClock } from "effect";
import { accountsTest } from "../../test/support/accounts-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import type { KeyLimits } from "../accounts/records.js";
import { GatewayStore } from "../db/database.js";
import type { RelayRow } from "../db/relay-rows.js";
import { Limits } from "./limits.js";

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined;

const keyWith = (limits: Partial<KeyLimits>) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts;
    const app = yield* accounts.createApplication({ name: "Acme" });
    const { secret } = yield* accounts.createKey(app.id, { name: "k", ...limits });
    return { key: yield* accounts.authenticate(secret), limits: yield* Limits, accounts, secret };
  });

describe.each(STORE_DIALECTS)("Limits on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect("settle moves the reservation to spent and counts the relay", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ budgetMicroUsd: 10_000 });
        const r = yield* limits.reserve(key, { tokens: 1_200, costMicroUsd: 750 });
        expect(yield* limits.usage(key.keyId)).toMatchObject({ reservedMicroUsd: 750, spentMicroUsd: 0 });
        expect(yield* limits.settle(r, { tokens: 340, costMicroUsd: 600 })).toBe(600);
        expect(yield* limits.usage(key.keyId)).toMatchObject({
          requests: 1,
          tokens: 340,
          spentMicroUsd: 600,
          reservedMicroUsd: 0,
          remainingMicroUsd: 9_400,
          window: { requests: 1, tokens: 340 },
        });
        expect(yield* limits.settle(r, { tokens: 340, costMicroUsd: 600 })).toBe(0); // twice: no effect
        expect((yield* limits.usage(key.keyId)).spentMicroUsd).toBe(600);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("release charges nothing and frees the window", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ budgetMicroUsd: 750, rpm: 1 });
        const r = yield* limits.reserve(key, { tokens: 100, costMicroUsd: 750 });
        yield* limits.release(r);
        yield* limits.release(r);
        expect(yield* limits.usage(key.keyId)).toMatchObject({
          requests: 0,
          spentMicroUsd: 0,
          reservedMicroUsd: 0,
        });
        yield* limits.reserve(key, { tokens: 100, costMicroUsd: 750 });
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("countUncharged charges nothing and keeps the request, not its tokens, in the window", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ budgetMicroUsd: 750, rpm: 1, tpm: 1_000 });
        const r = yield* limits.reserve(key, { tokens: 900, costMicroUsd: 750 });
        yield* limits.countUncharged(r);
        yield* limits.countUncharged(r);
        yield* limits.release(r);
        expect(yield* limits.usage(key.keyId)).toMatchObject({
          requests: 0,
          tokens: 0,
          spentMicroUsd: 0,
          reservedMicroUsd: 0,
          window: { requests: 1, tokens: 0 },
        });
        // The one request of this minute is taken; the budget is whole again.
        expect(
          failure(yield* Effect.exit(limits.reserve(key, { tokens: 100, costMicroUsd: 750 }))),
        ).toMatchObject({ _tag: "RateLimited" });
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("refuses past the budget, counting reservations in flight", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ budgetMicroUsd: 1_500 });
        yield* limits.reserve(key, { tokens: 1, costMicroUsd: 750 });
        yield* limits.reserve(key, { tokens: 1, costMicroUsd: 750 });
        const refused = failure(yield* Effect.exit(limits.reserve(key, { tokens: 1, costMicroUsd: 1 })));
        expect(refused).toMatchObject({ _tag: "BudgetExhausted", code: "BUDGET_EXHAUSTED" });
        expect(yield* limits.inFlight).toBe(2);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("caps a charge above the reservation so spent never passes the budget", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ budgetMicroUsd: 1_000 });
        const r = yield* limits.reserve(key, { tokens: 1, costMicroUsd: 750 });
        expect(yield* limits.settle(r, { tokens: 1, costMicroUsd: 5_000 })).toBe(1_000);
        expect(yield* limits.usage(key.keyId)).toMatchObject({ spentMicroUsd: 1_000, remainingMicroUsd: 0 });
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect(
      "writes the ledger row with the charge, and a second settlement of the same relay charges nothing",
      () =>
        Effect.gen(function* () {
          const { key, limits, accounts } = yield* keyWith({ budgetMicroUsd: 1_000, rpm: 10 });
          const row = (price: number): RelayRow => ({
            requestHash: "ab".repeat(32),
            applicationId: key.applicationId,
            keyId: key.keyId,
            serviceId: "llama-2-13b",
            tier: "standard",
            operation: "chat",
            nodeAddress: "pokt1node",
            sessionId: "cd".repeat(32),
            sessionNumber: 7,
            outcome: "ok",
            leafHash: "ef".repeat(32),
            computeUnits: 3,
            inputTokens: 20,
            outputTokens: 5,
            priceMicroUsd: price,
            latencyMs: 12,
            createdAt: 1_000,
          });
          const first = yield* limits.reserve(key, { tokens: 100, costMicroUsd: 600 });
          // Capped by the budget, and the row carries what was charged, not what was asked.
          expect(yield* limits.settle(first, { tokens: 25, costMicroUsd: 5_000 }, row)).toBe(1_000);
          const db = yield* GatewayStore;
          const rows = yield* Effect.promise(() =>
            db.all<{ price: number; tokens: number; units: number; node: string }>(plainSql`
            select price_micro_usd as "price", input_tokens + output_tokens as "tokens",
              compute_units as "units", node_address as "node" from relays`),
          );
          expect(rows).toEqual([{ price: 1_000, tokens: 25, units: 3, node: "pokt1node" }]);
          expect(yield* limits.usage(key.keyId)).toMatchObject({
            requests: 1,
            tokens: 25,
            spentMicroUsd: 1_000,
            reservedMicroUsd: 0,
            window: { requests: 1, tokens: 25 },
          });

          yield* accounts.updateKey(key.keyId, { budgetMicroUsd: 10_000 });
          const second = yield* limits.reserve(key, { tokens: 100, costMicroUsd: 600 });
          const duplicate = yield* Effect.exit(limits.settle(second, { tokens: 25, costMicroUsd: 600 }, row));
          expect(Exit.isFailure(duplicate)).toBe(true);
          // Nothing of the second settlement stayed: the hold is still there to release, not spent.
          expect(yield* limits.usage(key.keyId)).toMatchObject({
            requests: 1,
            spentMicroUsd: 1_000,
            reservedMicroUsd: 600,
            window: { requests: 2, tokens: 125 },
          });
          yield* limits.release(second);
          expect(yield* limits.usage(key.keyId)).toMatchObject({
            reservedMicroUsd: 0,
            window: { requests: 1 },
          });
        }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("rate-limits by RPM and TPM with a retry delay, over a sliding minute", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ rpm: 2, tpm: 1_000 });
        yield* limits.reserve(key, { tokens: 400, costMicroUsd: 0 });
        yield* TestClock.adjust("20 seconds");
        yield* limits.reserve(key, { tokens: 400, costMicroUsd: 0 });
        const rpm = failure(yield* Effect.exit(limits.reserve(key, { tokens: 1, costMicroUsd: 0 })));
        expect(rpm).toMatchObject({
          _tag: "RateLimited",
          code: "RATE_LIMITED",
          limit: "rpm",
          retryAfterMs: 40_000,
        });
        yield* TestClock.adjust("40 seconds");
        const tpm = failure(yield* Effect.exit(limits.reserve(key, { tokens: 700, costMicroUsd: 0 })));
        expect(tpm).toMatchObject({ limit: "tpm", retryAfterMs: 20_000 });
        yield* limits.reserve(key, { tokens: 600, costMicroUsd: 0 });
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("a limit set on a key counts the requests it made in the minute before", () =>
      Effect.gen(function* () {
        const { key, limits, accounts, secret } = yield* keyWith({});
        const r = yield* limits.reserve(key, { tokens: 500, costMicroUsd: 0 });
        yield* limits.reserve(key, { tokens: 100, costMicroUsd: 0 });
        yield* TestClock.adjust("30 seconds");
        yield* accounts.updateKey(key.keyId, { rpm: 3, tpm: 1_000 });
        const limited = yield* accounts.authenticate(secret);
        yield* limits.settle(r, { tokens: 300, costMicroUsd: 0 });
        expect((yield* limits.usage(key.keyId)).window).toMatchObject({ requests: 2, tokens: 400 });
        const tpm = failure(yield* Effect.exit(limits.reserve(limited, { tokens: 700, costMicroUsd: 0 })));
        expect(tpm).toMatchObject({ limit: "tpm", retryAfterMs: 30_000 });
        yield* limits.reserve(limited, { tokens: 600, costMicroUsd: 0 });
        const rpm = failure(yield* Effect.exit(limits.reserve(limited, { tokens: 0, costMicroUsd: 0 })));
        expect(rpm).toMatchObject({ limit: "rpm", retryAfterMs: 30_000 });
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect(
      "a clock set back (a gateway restarted after its clock was corrected) does not count requests dated ahead of it",
      () =>
        Effect.gen(function* () {
          const { key, limits } = yield* keyWith({ rpm: 2, tpm: 1_000 });
          const ahead = 1_200_000;
          yield* TestClock.setTime(ahead);
          const r = yield* limits.reserve(key, { tokens: 400, costMicroUsd: 0 });
          yield* limits.settle(r, { tokens: 400, costMicroUsd: 0 });
          yield* limits.reserve(key, { tokens: 400, costMicroUsd: 0 });
          // Ten minutes back: those two requests are in no minute that this clock's window holds.
          yield* TestClock.setTime(ahead - 600_000);
          expect((yield* limits.usage(key.keyId)).window).toMatchObject({ requests: 0, tokens: 0 });
          yield* limits.reserve(key, { tokens: 900, costMicroUsd: 0 });
          yield* limits.reserve(key, { tokens: 100, costMicroUsd: 0 });
          const rpm = failure(yield* Effect.exit(limits.reserve(key, { tokens: 0, costMicroUsd: 0 })));
          expect(rpm).toMatchObject({ limit: "rpm", retryAfterMs: 60_000 });
        }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("a rate refusal reserves no budget", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({ rpm: 1, budgetMicroUsd: 10_000 });
        yield* limits.reserve(key, { tokens: 1, costMicroUsd: 750 });
        yield* Effect.exit(limits.reserve(key, { tokens: 1, costMicroUsd: 750 }));
        expect((yield* limits.usage(key.keyId)).reservedMicroUsd).toBe(750);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("a revoked key cannot reserve, but its relays in flight still settle", () =>
      Effect.gen(function* () {
        const { key, limits, accounts } = yield* keyWith({ budgetMicroUsd: 10_000 });
        const r = yield* limits.reserve(key, { tokens: 1, costMicroUsd: 750 });
        yield* accounts.revokeKey(key.keyId);
        expect(
          failure(yield* Effect.exit(limits.reserve(key, { tokens: 1, costMicroUsd: 1 }))),
        ).toMatchObject({
          _tag: "InvalidApiKey",
        });
        yield* limits.settle(r, { tokens: 1, costMicroUsd: 750 });
        expect((yield* limits.usage(key.keyId)).spentMicroUsd).toBe(750);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("refuses amounts that are not whole numbers as a defect", () =>
      Effect.gen(function* () {
        const { key, limits } = yield* keyWith({});
        const exit = yield* Effect.exit(limits.reserve(key, { tokens: 1, costMicroUsd: 0.5 }));
        expect(Exit.isFailure(exit) && exit.cause._tag).toBe("Die");
      }).pipe(Effect.provide(accountsTest(dialect))),
    );
  });
});
