import { describe, expect, it } from "@effect/vitest";
import {
  type ClaimAck,
  createClaimSubmission,
  deriveSessionId,
  generateKeyPair,
  type SessionHeader,
  verifyClaimAck,
} from "@pocket-ai/protocol";
import { Effect, Exit, TestClock } from "effect";
import {
  claimTime,
  HOUR,
  type LedgerRelay,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  receiptExpectations,
  registerNode,
  sessionAt,
  W48_TUESDAY,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { settlementTest, TEST_SESSION_PARAMS } from "../../test/support/settlement-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Settlement } from "./settlement.js";

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined;

const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

/** A registered node, the week's rate, a session with `relays` ok relays in the ledger, the clock in its window. */
const served = (relays = 10, extra: readonly LedgerRelay[] = []) =>
  Effect.gen(function* () {
    const settlement = yield* Settlement;
    const node = generateKeyPair();
    yield* registerNode(node);
    yield* settlement.setWeeklyRate("2026-W48", 250_000);
    const header = sessionAt(W48_TUESDAY);
    const ledger = ledgerRelays(header, relays);
    yield* writeLedger(header, node.address, [...ledger, ...extra]);
    yield* TestClock.setTime(claimTime(header));
    return { settlement, node, header, ledger };
  });

const refusal = (input: unknown) =>
  Effect.flatMap(Settlement, (s) => Effect.exit(s.submitClaim(input))).pipe(Effect.map(failure));

/** Tuesday of 2026-W49, a week no test sets a rate for before it means to. */
const W49_TUESDAY = W48_TUESDAY + 7 * 24 * HOUR;

/** A registered node's claim on a 2026-W49 session of 3 verified relays; the week has no rate yet. */
const unratedWeek = Effect.gen(function* () {
  const settlement = yield* Settlement;
  const node = generateKeyPair();
  yield* registerNode(node);
  const header = sessionAt(W49_TUESDAY);
  const ledger = ledgerRelays(header, 3);
  yield* writeLedger(header, node.address, ledger);
  return { settlement, node, header, submission: nodeClaim(node, header, ledger).submission };
});

describe.each(STORE_DIALECTS)("Settlement.submitClaim on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect(
      "accepts a claim matching the ledger; the same claim again is a duplicate with the same seed",
      () =>
        Effect.gen(function* () {
          const { settlement, node, header, ledger } = yield* served();
          const { submission } = nodeClaim(node, header, ledger);
          const first = yield* settlement.submitClaim(wire(submission));
          expect(first.status).toBe("accepted");
          // Each answer is the gateway's signed receipt of this node's claim.
          const expected = receiptExpectations(node, header, submission.root);
          expect(verifyClaimAck(wire(first), expected)).toEqual({ ok: true, value: first });
          const same = (ack: ClaimAck) => ({
            status: ack.status,
            proofSeed: ack.proofSeed,
            leafIndex: ack.leafIndex,
          });
          const again = yield* settlement.submitClaim(
            wire({ ...nodeClaim(node, header, ledger, 5).submission }),
          );
          expect(verifyClaimAck(wire(again), expected).ok).toBe(true);
          expect(same(again)).toEqual({ ...same(first), status: "duplicate" });
          // Even after the window closed: the node may have lost the first answer.
          yield* TestClock.adjust(48 * HOUR);
          expect(same(yield* settlement.submitClaim(wire(submission)))).toEqual({
            ...same(first),
            status: "duplicate",
          });
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses another root for the same node and session with DUPLICATE_CLAIM", () =>
      Effect.gen(function* () {
        const { settlement, node, header, ledger } = yield* served();
        yield* settlement.submitClaim(wire(nodeClaim(node, header, ledger).submission));
        const other = nodeClaim(node, header, ledger.slice(1)).submission;
        expect(yield* refusal(wire(other))).toMatchObject({
          _tag: "DuplicateClaim",
          code: "DUPLICATE_CLAIM",
        });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect(
      "accepts a claim above the ledger but mints at most what the gateway verified; accepts an under-claim",
      () =>
        Effect.gen(function* () {
          const failed = { leafHash: "ee".repeat(32), computeUnits: 750, outcome: "error" as const };
          const { settlement, node, header, ledger } = yield* served(10, [failed]);
          // The failed relay is in the ledger, but not claimable: the node claims 11, the gateway verified 10.
          const tooMany = nodeClaim(node, header, [...ledger, failed]);
          const ack = yield* settlement.submitClaim(wire(tooMany.submission));
          expect(ack.status).toBe("accepted");
          const submission = nodeProof(node, header, tooMany.tree, ack.leafIndex);
          const proof = yield* settlement.submitProof(wire(submission));
          if (submission.proof.leaf.hash === failed.leafHash) {
            // The seed picked the leaf the gateway never verified: the claim is rejected.
            expect(proof.status).toBe("rejected");
          } else {
            expect(proof).toMatchObject({ status: "proven", mintedUpokt: String(10 * 3000) });
            const [claim] = yield* settlement.listClaims();
            expect(claim?.detail).toContain("minted at most what this gateway verified");
            // The claim keeps what the node said; the books count what was paid for.
            expect(claim).toMatchObject({ relays: 11, paidRelays: 10, paidComputeUnits: String(10 * 750) });
            const tally = yield* settlement.weeklyTally(claim!.weekId);
            expect(tally.totals).toMatchObject({ relaysProven: 10, mintedUpokt: String(10 * 3000) });
          }
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("accepts an under-claim and mints what was claimed", () =>
      Effect.gen(function* () {
        const { settlement, node, header, ledger } = yield* served(10);
        const fewer = nodeClaim(node, header, ledger.slice(0, 7));
        const ack = yield* settlement.submitClaim(wire(fewer.submission));
        expect(ack.status).toBe("accepted");
        const proof = yield* settlement.submitProof(wire(nodeProof(node, header, fewer.tree, ack.leafIndex)));
        expect(proof).toMatchObject({ status: "proven", mintedUpokt: String(7 * 3000) });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses a node that is not registered, and a claim on another node's relays", () =>
      Effect.gen(function* () {
        const { header, ledger } = yield* served();
        const stranger = generateKeyPair();
        expect(yield* refusal(wire(nodeClaim(stranger, header, ledger).submission))).toMatchObject({
          code: "INVALID_CLAIM",
          detail: expect.stringContaining("not registered"),
        });
        const other = generateKeyPair();
        yield* registerNode(other);
        expect(yield* refusal(wire(nodeClaim(other, header, ledger).submission))).toMatchObject({
          code: "INVALID_CLAIM",
        });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses a header that is not one of this gateway's sessions", () =>
      Effect.gen(function* () {
        const { node, header, ledger } = yield* served();
        const forged: SessionHeader[] = [
          { ...header, sessionId: "ab".repeat(32) },
          { ...header, sessionEnd: header.sessionEnd + HOUR },
          { ...header, serviceId: "mistral-7b" },
        ];
        for (const h of forged) {
          expect(yield* refusal(wire(nodeClaim(node, h, ledger).submission))).toMatchObject({
            code: "INVALID_CLAIM",
          });
        }
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect(
      "refuses a session past the last date a clock can show with INVALID_CLAIM, not an internal error",
      () =>
        Effect.gen(function* () {
          const { node, header, ledger } = yield* served();
          // The first hourly session that starts after 275760-09-13 (JavaScript's last date): its
          // window is whole numbers, but no date can name when its claim window would open.
          const sessionNumber = 2_400_000_001;
          const sessionStart = sessionNumber * TEST_SESSION_PARAMS.sessionLengthMs;
          const far: SessionHeader = {
            ...header,
            sessionNumber,
            sessionId: deriveSessionId(header.applicationAddress, header.serviceId, sessionNumber),
            sessionStart,
            sessionEnd: sessionStart + TEST_SESSION_PARAMS.sessionLengthMs,
          };
          expect(yield* refusal(wire(nodeClaim(node, far, ledger).submission))).toMatchObject({
            _tag: "InvalidClaim",
            code: "INVALID_CLAIM",
            detail: expect.stringContaining(`session ${sessionNumber}`),
          });
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses a claim before the session's grace has passed or after the claim window", () =>
      Effect.gen(function* () {
        const { settlement, node, header, ledger } = yield* served();
        const { submission } = nodeClaim(node, header, ledger);
        yield* TestClock.setTime(header.sessionEnd + TEST_SESSION_PARAMS.graceMs - 1);
        // Early: its own code, which the node never counts against the claim.
        expect(yield* refusal(wire(submission))).toMatchObject({
          _tag: "ClaimWindowNotOpen",
          code: "CLAIM_WINDOW_NOT_OPEN",
        });
        expect(String((yield* refusal(wire(submission)))?.message)).toContain("opens at");
        yield* TestClock.setTime(header.sessionEnd + TEST_SESSION_PARAMS.graceMs + 24 * HOUR + 1);
        expect(yield* refusal(wire(submission))).toMatchObject({
          _tag: "ClaimWindowClosed",
          code: "CLAIM_WINDOW_CLOSED",
        });
        expect(String((yield* refusal(wire(submission)))?.message)).toContain("closed at");
        yield* TestClock.setTime(header.sessionEnd + TEST_SESSION_PARAMS.graceMs + 24 * HOUR);
        expect((yield* settlement.submitClaim(wire(submission))).status).toBe("accepted");
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("accepts a claim from the millisecond its window opens", () =>
      Effect.gen(function* () {
        const { settlement, node, header, ledger } = yield* served();
        const { submission } = nodeClaim(node, header, ledger);
        yield* TestClock.setTime(header.sessionEnd + TEST_SESSION_PARAMS.graceMs);
        expect((yield* settlement.submitClaim(wire(submission))).status).toBe("accepted");
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("answers RATE_NOT_SET until the week's rate is set, then accepts", () =>
      Effect.gen(function* () {
        const { settlement, submission } = yield* unratedWeek;
        yield* TestClock.setTime(claimTime(sessionAt(W49_TUESDAY)));
        expect(yield* refusal(wire(submission))).toMatchObject({ code: "RATE_NOT_SET", weekId: "2026-W49" });
        yield* settlement.setWeeklyRate("2026-W49", 300_000);
        expect((yield* settlement.submitClaim(wire(submission))).status).toBe("accepted");
        const [claim] = yield* settlement.listClaims();
        expect(claim).toMatchObject({ weekId: "2026-W49", rateMicroUsdPerPokt: 300_000, status: "claimed" });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("gives the claims of a week whose rate was set late a full window from when it was set", () =>
      Effect.gen(function* () {
        const { settlement, node, header, submission } = yield* unratedWeek;
        // Claimed in time, and again after the window: RATE_NOT_SET both times, so the node retries.
        yield* TestClock.setTime(claimTime(header));
        expect(yield* refusal(wire(submission))).toMatchObject({ code: "RATE_NOT_SET" });
        yield* TestClock.adjust(25 * HOUR);
        expect(yield* refusal(wire(submission))).toMatchObject({ code: "RATE_NOT_SET", weekId: "2026-W49" });
        // The operator sets the rate a day late: the claim is taken within a window from then.
        yield* settlement.setWeeklyRate("2026-W49", 300_000);
        yield* TestClock.adjust(23 * HOUR);
        expect((yield* settlement.submitClaim(wire(submission))).status).toBe("accepted");
        // Another session of that week claimed after that window too is closed.
        const other = sessionAt(W49_TUESDAY + 3 * HOUR);
        const otherLedger = ledgerRelays(other, 2);
        yield* writeLedger(other, node.address, otherLedger);
        yield* TestClock.adjust(2 * HOUR);
        expect(yield* refusal(wire(nodeClaim(node, other, otherLedger).submission))).toMatchObject({
          code: "CLAIM_WINDOW_CLOSED",
        });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses forged, misaddressed and malformed messages with the protocol's codes", () =>
      Effect.gen(function* () {
        const { node, header, ledger } = yield* served();
        const { submission, root } = nodeClaim(node, header, ledger);
        const tampered = { ...submission, root: { ...root, relays: root.relays - 1 } };
        expect(yield* refusal(wire(tampered))).toMatchObject({ code: "INVALID_SIGNATURE" });
        const elsewhere = nodeClaim(node, header, ledger).submission;
        const misaddressed = createClaimSubmission(
          { gatewayAddress: generateKeyPair().address, header, root, issuedAt: 0 },
          node,
        );
        expect(yield* refusal(wire(misaddressed))).toMatchObject({ code: "ADDRESS_MISMATCH" });
        for (const junk of [null, "claim", { ...elsewhere, v: 2 }, { ...elsewhere, extra: 1 }]) {
          expect(yield* refusal(junk)).toMatchObject({ code: "MALFORMED_ENVELOPE" });
        }
      }).pipe(Effect.provide(settlementTest(dialect))),
    );
  });
});
