import { describe, expect, it } from "@effect/vitest";
import { claimRoot, generateKeyPair, type SessionHeader, verifyProofAck } from "@pocket-ai/protocol";
import { Effect, Layer, TestClock } from "effect";
import {
  claimTime,
  HOUR,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  receiptExpectations,
  registerNode,
  sessionAt,
  W48_TUESDAY,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { settlementTest } from "../../test/support/settlement-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { CLAIM_EXPIRY_EVERY_MS, CLAIM_EXPIRY_SLACK_MS } from "./claim-expiry.js";
import { ClaimExpiryLive, Settlement } from "./settlement.js";
import { finalityText } from "./settlement-cli-text.js";

const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));
const iso = (ms: number) => new Date(ms).toISOString();

/** A node's accepted claim of a session with 10 verified relays, made at `at` (default: its window's opening). */
const claimOf = (header: SessionHeader, at = claimTime(header)) =>
  Effect.gen(function* () {
    const settlement = yield* Settlement;
    const node = generateKeyPair();
    yield* registerNode(node);
    const ledger = ledgerRelays(header, 10);
    yield* writeLedger(header, node.address, ledger);
    yield* TestClock.setTime(at);
    const { tree, submission } = nodeClaim(node, header, ledger);
    const ack = yield* settlement.submitClaim(wire(submission));
    expect(ack.status).toBe("accepted");
    return { node, header, tree, ack, claimedAt: at };
  });

/** W48's rate set, then a claim of its Tuesday session (see {@link claimOf}). */
const ratedClaim = Effect.zipRight(
  Effect.flatMap(Settlement, (s) => s.setWeeklyRate("2026-W48", 250_000)),
  Effect.suspend(() => claimOf(sessionAt(W48_TUESDAY))),
);

const claimsByNode = Effect.gen(function* () {
  const claims = yield* Effect.flatMap(Settlement, (s) => s.listClaims());
  return new Map(claims.map((c) => [c.nodeAddress, c]));
});

/** Lets the gateway's own fibers (the expiry loop) run until `done` holds, polling on real time. */
const until = <E, R>(done: Effect.Effect<boolean, E, R>, polls = 500) =>
  Effect.gen(function* () {
    for (let i = 0; i < polls; i++) {
      if (yield* done) return true;
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)));
    }
    return false;
  });

describe.each(STORE_DIALECTS)("claims whose proof never came, on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect(
      "are rejected as a late proof is answered once their window closed; a claim still in its window stays open",
      () =>
        Effect.gen(function* () {
          const settlement = yield* Settlement;
          yield* settlement.setWeeklyRate("2026-W48", 250_000);
          // Two sessions an hour apart, each claimed as its claim window opens.
          const early = yield* claimOf(sessionAt(W48_TUESDAY));
          const late = yield* claimOf(sessionAt(W48_TUESDAY + HOUR));
          expect(late.claimedAt).toBe(early.claimedAt + HOUR);
          // The early claim's proof window closed an hour after it; the sweep waits its slack more.
          const deadline = early.claimedAt + HOUR;
          expect(yield* settlement.expireClaims(deadline + CLAIM_EXPIRY_SLACK_MS)).toBe(0);
          const now = deadline + CLAIM_EXPIRY_SLACK_MS + 1;
          yield* TestClock.setTime(now);
          expect(yield* settlement.expireClaims(now)).toBe(1);
          expect(yield* settlement.expireClaims(now)).toBe(0);

          const claims = yield* claimsByNode;
          const closed = `CLAIM_WINDOW_CLOSED: the proof window closed at ${iso(deadline)}`;
          expect(claims.get(early.node.address)).toMatchObject({
            status: "rejected",
            detail: closed,
            settledAt: now,
            mintedUpokt: "0",
          });
          expect(claims.get(late.node.address)).toMatchObject({ status: "claimed", settledAt: null });
          expect((yield* settlement.weeklyTally("2026-W48")).unsettled).toEqual({ claimed: 1, rejected: 1 });

          // The early node's proof now gets the same signed answer a late proof always got.
          const proof = wire(nodeProof(early.node, early.header, early.tree, early.ack.leafIndex));
          const answer = yield* settlement.submitProof(proof);
          expect(answer).toMatchObject({ status: "rejected", mintedUpokt: "0", detail: closed });
          const expected = receiptExpectations(early.node, early.header, claimRoot(early.tree));
          expect(verifyProofAck(wire(answer), expected).ok).toBe(true);
          // The late node still proves in time and is paid.
          const lateProof = wire(nodeProof(late.node, late.header, late.tree, late.ack.leafIndex));
          expect(yield* settlement.submitProof(lateProof)).toMatchObject({ status: "proven" });
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("leave a proven claim proven", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const { node, header, tree, ack, claimedAt } = yield* ratedClaim;
        const proven = yield* settlement.submitProof(wire(nodeProof(node, header, tree, ack.leafIndex)));
        expect(proven).toMatchObject({ status: "proven", mintedUpokt: "30000" });
        const now = claimedAt + 2 * HOUR;
        yield* TestClock.setTime(now);
        expect(yield* settlement.expireClaims(now)).toBe(0);
        expect((yield* claimsByNode).get(node.address)).toMatchObject({
          status: "proven",
          mintedUpokt: "30000",
        });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect(
      "never beat a proof the intake accepted in time, on a replica whose clock runs a little ahead",
      () =>
        Effect.gen(function* () {
          const settlement = yield* Settlement;
          const { node, header, tree, ack, claimedAt } = yield* ratedClaim;
          // The proof comes at its deadline; another replica, a minute ahead, sweeps first.
          yield* TestClock.setTime(claimedAt + HOUR);
          expect(yield* settlement.expireClaims(claimedAt + HOUR + 60_000)).toBe(0);
          const proof = wire(nodeProof(node, header, tree, ack.leafIndex));
          expect(yield* settlement.submitProof(proof)).toMatchObject({ status: "proven" });
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("are rejected by the gateway itself while it runs, without a tally or a proof asking", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const { node, claimedAt } = yield* ratedClaim;
        const statusOf = Effect.map(claimsByNode, (c) => c.get(node.address)?.status);
        // The loop as the gateway app runs it (`ClaimExpiryLive`), started at the claim's time.
        yield* Layer.launch(ClaimExpiryLive).pipe(
          Effect.provideService(Settlement, settlement),
          Effect.forkScoped,
        );
        yield* TestClock.adjust(HOUR + CLAIM_EXPIRY_SLACK_MS - 1);
        expect(
          yield* until(
            Effect.map(statusOf, (s) => s !== "claimed"),
            20,
          ),
        ).toBe(false);
        // Past the window, by the loop's period: its next round rejects the claim.
        yield* TestClock.setTime(claimedAt + HOUR + CLAIM_EXPIRY_SLACK_MS + CLAIM_EXPIRY_EVERY_MS + 1);
        expect(yield* until(Effect.map(statusOf, (s) => s === "rejected"))).toBe(true);
      }).pipe(Effect.scoped, Effect.provide(settlementTest(dialect))),
    );
  });
});

describe.each(STORE_DIALECTS)("a week's tally finality, on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    // Hourly sessions (the test layer): W48's last session ends 2026-11-30T00:00Z; one minute of
    // grace, the default windows (24 h to claim, 1 h to prove).
    const weekEnd = Date.UTC(2026, 10, 30);
    const claimsUntil = weekEnd + 60_000 + 24 * HOUR;
    const proofsUntil = claimsUntil + HOUR;
    const finalAt = proofsUntil + CLAIM_EXPIRY_SLACK_MS;

    it.effect("waits for the week's rate, then for the last claim window and its proof window", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        yield* TestClock.setTime(W48_TUESDAY);
        const none = (yield* settlement.weeklyTally("2026-W48")).finality;
        expect(none).toEqual({ final: false, claimsUntil: null, proofsUntil: null, finalAt: null });
        expect(finalityText(none)).toBe(
          "Not final: the week has no POKT rate yet, and its claims wait for one.",
        );

        yield* settlement.setWeeklyRate("2026-W48", 250_000);
        const open = (yield* settlement.weeklyTally("2026-W48")).finality;
        expect(open).toEqual({ final: false, claimsUntil, proofsUntil, finalAt });
        expect(finalityText(open)).toBe(
          "Not final: claims of this week may come until 2026-12-01T00:01:00.000Z, proofs until 2026-12-01T01:01:00.000Z; final after 2026-12-01T01:06:00.000Z.",
        );
        // Until it is final the rate may still change (no claim pinned it)...
        yield* TestClock.setTime(finalAt);
        expect((yield* settlement.weeklyTally("2026-W48")).finality.final).toBe(false);
        yield* settlement.setWeeklyRate("2026-W48", 250_000);
        yield* TestClock.setTime(finalAt + 1);
        const final = (yield* settlement.weeklyTally("2026-W48")).finality;
        expect(final).toEqual({ final: true, claimsUntil, proofsUntil, finalAt });
        expect(finalityText(final)).toBe(
          "Final since 2026-12-01T01:06:00.000Z: no claim of this week can be stored or proven any more.",
        );
        // ...then not: a new rate would reopen a claim window of a week reported final.
        const refused = yield* Effect.flip(settlement.setWeeklyRate("2026-W48", 300_000));
        expect(refused).toMatchObject({ _tag: "InvalidSettlementInput" });
        expect(refused.message).toContain("2026-W48 is final since 2026-12-01T01:06:00.000Z");
        expect((yield* settlement.weeklyTally("2026-W48")).finality.final).toBe(true);
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("runs from a rate set after the week, as the claim window it reopens does", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const setAt = Date.UTC(2026, 11, 5, 12);
        yield* TestClock.setTime(setAt);
        yield* settlement.setWeeklyRate("2026-W48", 250_000);
        expect((yield* settlement.weeklyTally("2026-W48")).finality).toEqual({
          final: false,
          claimsUntil: setAt + 24 * HOUR,
          proofsUntil: setAt + 25 * HOUR,
          finalAt: setAt + 25 * HOUR + CLAIM_EXPIRY_SLACK_MS,
        });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("counts a claim still unproven at the end as rejected, and nothing as awaiting proof", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        yield* settlement.setWeeklyRate("2026-W48", 250_000);
        // The week's last session, claimed at the last moment the window allows.
        yield* claimOf(sessionAt(weekEnd - 1), claimsUntil);
        yield* TestClock.setTime(finalAt);
        expect((yield* settlement.weeklyTally("2026-W48")).unsettled).toEqual({ claimed: 1, rejected: 0 });
        yield* TestClock.setTime(finalAt + 1);
        const tally = yield* settlement.weeklyTally("2026-W48");
        expect(tally.unsettled).toEqual({ claimed: 0, rejected: 1 });
        expect(tally.finality.final).toBe(true);
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses a week its year does not have", () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const refused = yield* Effect.flip(settlement.weeklyTally("2025-W53"));
        expect(refused).toMatchObject({ _tag: "InvalidSettlementInput" });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );
  });
});
