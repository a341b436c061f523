import { describe, expect, it } from "@effect/vitest";
import { generateKeyPair } from "@pocket-ai/protocol";
import { Effect, Exit, TestClock } from "effect";
import {
  claimTime,
  ledgerRelays,
  nodeClaim,
  registerNode,
  sessionAt,
  W48_TUESDAY,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { settlementTest } from "../../test/support/settlement-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Settlement } from "./settlement.js";

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined;

describe.each(STORE_DIALECTS)("weekly rates on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect("sets, changes and lists rates, newest week first", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        yield* TestClock.setTime(1_000);
        expect(yield* settlement.setWeeklyRate("2026-W48", 200_000)).toEqual({
          weekId: "2026-W48",
          rateMicroUsdPerPokt: 200_000,
          usdPerPokt: "0.2",
          setAt: 1_000,
          claims: 0,
        });
        yield* settlement.setWeeklyRate("2026-W48", 250_000); // no claim pinned it yet
        yield* settlement.setWeeklyRate("2026-W49", 1_234_567);
        expect((yield* settlement.listRates()).map((r) => [r.weekId, r.usdPerPokt])).toEqual([
          ["2026-W49", "1.234567"],
          ["2026-W48", "0.25"],
        ]);
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses to change a rate a claim pinned; the same rate again is fine", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const node = generateKeyPair();
        yield* registerNode(node);
        yield* settlement.setWeeklyRate("2026-W48", 250_000);
        const header = sessionAt(W48_TUESDAY);
        const ledger = ledgerRelays(header, 2);
        yield* writeLedger(header, node.address, ledger);
        yield* TestClock.setTime(claimTime(header));
        yield* settlement.submitClaim(JSON.parse(JSON.stringify(nodeClaim(node, header, ledger).submission)));

        const refused = failure(yield* Effect.exit(settlement.setWeeklyRate("2026-W48", 300_000)));
        expect(refused).toMatchObject({ _tag: "RatePinned", code: "INVALID_REQUEST", claims: 1 });
        expect(refused?.message).toBe(
          "the rate of 2026-W48 (250000 µUSD per POKT) is pinned by 1 stored claim(s) and cannot change",
        );
        expect((yield* settlement.setWeeklyRate("2026-W48", 250_000)).claims).toBe(1);
        expect((yield* settlement.listRates())[0]).toMatchObject({ rateMicroUsdPerPokt: 250_000, claims: 1 });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses week ids and rates it cannot use", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        for (const [week, rate] of [
          ["2026-48", 250_000],
          ["2025-W53", 250_000], // 2025 has 52 ISO weeks
          ["2026-W48", 0],
          ["2026-W48", 0.5],
          ["2026-W48", 2 ** 32],
        ] as const) {
          expect(failure(yield* Effect.exit(settlement.setWeeklyRate(week, rate)))).toMatchObject({
            _tag: "InvalidSettlementInput",
            code: "INVALID_REQUEST",
          });
        }
        expect(failure(yield* Effect.exit(settlement.weeklyTally("W48")))).toMatchObject({
          code: "INVALID_REQUEST",
        });
        expect(yield* settlement.listRates()).toEqual([]);
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("tallies a week without claims or rate as empty and balanced", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const tally = yield* settlement.weeklyTally("2027-W01");
        expect(tally).toMatchObject({ rows: [], rateMicroUsdPerPokt: null, usdPerPokt: null });
        expect(tally.totals).toMatchObject({
          mintedUpokt: "0",
          burnedUpokt: "0",
          bedrockEquivalentMicroUsd: null,
        });
        expect((yield* settlement.report("2027-W01", "csv")).split("\r\n")).toHaveLength(2);
      }).pipe(Effect.provide(settlementTest(dialect))),
    );
  });
});
