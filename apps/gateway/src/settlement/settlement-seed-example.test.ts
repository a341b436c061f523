import { describe, expect, it } from "@effect/vitest";
import { generateKeyPair, type SessionHeader, verifyClaimAck, weekIdOf } from "@pocket-ai/protocol";
import { Effect, TestClock } from "effect";
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
import { SettlementTest, TEST_OPERATOR } from "../../test/support/settlement-test-layer.js";
import { Settlement } from "./settlement.js";

const WEEK = "2026-W48";

/** A session served, claimed and proven the way a node does it; returns the ack of the proof. */
const serveAndSettle = (node: ReturnType<typeof generateKeyPair>, header: SessionHeader, relays: number) =>
  Effect.gen(function* () {
    const settlement = yield* Settlement;
    const ledger = ledgerRelays(header, relays);
    yield* writeLedger(header, node.address, ledger);
    const { tree, root, submission } = nodeClaim(node, header, ledger);
    yield* TestClock.setTime(claimTime(header));
    const ack = yield* settlement.submitClaim(JSON.parse(JSON.stringify(submission)));
    expect(ack.status).toBe("accepted");
    const expected = receiptExpectations(node, header, root);
    expect(verifyClaimAck(ack, expected).ok).toBe(true);
    return yield* settlement.submitProof(
      JSON.parse(JSON.stringify(nodeProof(node, header, tree, ack.leafIndex))),
    );
  });

describe("the seed's worked example, at the service level", () => {
  it.effect("$0.00075 a relay at $0.25/POKT: a session of 40 relays mints 40 × 3000 uPOKT", () =>
    Effect.gen(function* () {
      const settlement = yield* Settlement;
      const node = generateKeyPair();
      yield* registerNode(node);
      yield* settlement.setWeeklyRate(WEEK, 250_000);
      const header = sessionAt(W48_TUESDAY);
      expect(weekIdOf(header.sessionStart)).toBe(WEEK);
      const proofAck = yield* serveAndSettle(node, header, 40);
      expect(proofAck).toMatchObject({ status: "proven", mintedUpokt: "120000" });
      const [claim] = yield* settlement.listClaims({ weekId: WEEK });
      expect(claim).toMatchObject({
        status: "proven",
        relays: 40,
        computeUnits: "30000",
        mintedPokt: "0.12",
      });
    }).pipe(Effect.provide(SettlementTest)),
  );

  it.effect(
    "100,000 relays by one operator in a week: 300 POKT minted, charged and burned",
    () =>
      Effect.gen(function* () {
        const settlement = yield* Settlement;
        const nodes = [generateKeyPair(), generateKeyPair()];
        for (const node of nodes) yield* registerNode(node);
        yield* settlement.setWeeklyRate(WEEK, 250_000);
        // Four sessions of 25,000 relays, two nodes, across the week.
        const acks = [];
        for (const [i, node] of [...nodes, ...nodes].entries()) {
          const header = sessionAt(W48_TUESDAY + i * 24 * HOUR);
          acks.push(yield* serveAndSettle(node, header, 25_000));
        }
        expect(acks.map((a) => a.mintedUpokt)).toEqual(["75000000", "75000000", "75000000", "75000000"]);

        const tally = yield* settlement.weeklyTally(WEEK);
        expect(tally).toMatchObject({
          weekId: WEEK,
          operator: TEST_OPERATOR,
          rateMicroUsdPerPokt: 250_000,
          usdPerPokt: "0.25",
          unsettled: { claimed: 0, rejected: 0 },
        });
        expect(tally.rows).toHaveLength(1);
        expect(tally.rows[0]).toMatchObject({
          operator: TEST_OPERATOR,
          serviceId: "llama-2-13b",
          claims: 4,
          relaysProven: 100_000,
          computeUnits: "75000000",
          mintedUpokt: "300000000",
          chargedUpokt: "300000000",
          burnedUpokt: "300000000",
          mintedPokt: "300",
          burnedPokt: "300",
          fiatMicroUsd: "75000000", // $75 = 100,000 × $0.00075
        });
        const { operator, serviceId, ...rowAmounts } = tally.rows[0]!;
        expect([operator, serviceId]).toEqual([TEST_OPERATOR, "llama-2-13b"]);
        expect(tally.totals).toEqual(rowAmounts); // one operator, one service: the totals are the row
        // 100,000 calls of 120 input and 400 output tokens at Bedrock's Llama 2 13B prices.
        expect(tally.totals.bedrockEquivalentMicroUsd).toBe(
          String((100_000 * (120 * 750 + 400 * 1000)) / 1000),
        );

        const csv = yield* settlement.report(WEEK, "csv");
        const [header, row, ...rest] = csv.split("\r\n");
        expect(header).toBe(
          "week_id,operator,service_id,claims,relays_proven,compute_units,minted_upokt,charged_upokt,burned_upokt,minted_pokt,burned_pokt,rate_micro_usd_per_pokt,fiat_micro_usd,bedrock_equivalent_micro_usd,bedrock_excluded_relays",
        );
        expect(row).toBe(
          `${WEEK},${TEST_OPERATOR},llama-2-13b,4,100000,75000000,300000000,300000000,300000000,300,300,250000,75000000,49000000,0`,
        );
        expect(rest).toEqual([""]);

        const json = JSON.parse(yield* settlement.report(WEEK, "json"));
        expect(json).toEqual(JSON.parse(JSON.stringify(tally)));
        expect(json.totals).toMatchObject({ mintedUpokt: "300000000", burnedUpokt: "300000000" });
      }).pipe(Effect.provide(SettlementTest)),
    // 100,000 relays proven and settled: seconds on an idle machine, far more on a busy one.
    180_000,
  );
});
