import { describe, expect, it } from "@effect/vitest";
import {
  claimRoot,
  createProofSubmission,
  generateKeyPair,
  type KeyPair,
  proveClaimLeaf,
  sha256Hex,
  verifyProofAck,
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
import { settlementTest, TEST_GATEWAY } from "../../test/support/settlement-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Settlement } from "./settlement.js";

const failure = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined;

const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

/**
 * A session with 10 verified relays in the gateway's ledger, claimed by the node with the leaves
 * it says it kept (`kept`, default: the ledger's own), and accepted.
 */
const claimed = (kept?: (ledger: LedgerRelay[]) => LedgerRelay[]) =>
  Effect.gen(function* () {
    const settlement = yield* Settlement;
    const node = generateKeyPair();
    yield* registerNode(node);
    yield* settlement.setWeeklyRate("2026-W48", 250_000);
    const header = sessionAt(W48_TUESDAY);
    const ledger = ledgerRelays(header, 10);
    yield* writeLedger(header, node.address, ledger);
    yield* TestClock.setTime(claimTime(header));
    const { tree, root, submission } = nodeClaim(node, header, kept?.(ledger) ?? ledger);
    const ack = yield* settlement.submitClaim(wire(submission));
    return { settlement, node, header, tree, root, ack };
  });

const claimStatus = Effect.flatMap(Settlement, (s) => s.listClaims()).pipe(Effect.map((c) => c[0]?.status));

describe.each(STORE_DIALECTS)("Settlement.submitProof on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect(
      "mints on the proof of the requested leaf; a second proof answers the same ack and mints nothing more",
      () =>
        Effect.gen(function* () {
          const { settlement, node, header, tree, ack } = yield* claimed();
          const proof = wire(nodeProof(node, header, tree, ack.leafIndex));
          const first = yield* settlement.submitProof(proof);
          expect(first).toMatchObject({ status: "proven", mintedUpokt: "30000" });
          const expected = receiptExpectations(node, header, claimRoot(tree));
          expect(verifyProofAck(JSON.parse(JSON.stringify(first)), expected)).toEqual({
            ok: true,
            value: first,
          });
          const again = yield* settlement.submitProof(proof);
          expect(verifyProofAck(again, expected).ok).toBe(true);
          expect(again).toMatchObject({ status: "proven", mintedUpokt: "30000" });
          expect((yield* settlement.weeklyTally("2026-W48")).totals.mintedUpokt).toBe("30000");
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("rejects the proof of a leaf the gateway never signed, whatever the totals", () =>
      Effect.gen(function* () {
        // Ten invented relays with the ledger's weights: the totals pass, every leaf is fake.
        const { settlement, node, header, tree, ack } = yield* claimed((ledger) =>
          ledger.map((l, i) => ({ ...l, leafHash: sha256Hex(`invented/${i}`) })),
        );
        expect(ack.status).toBe("accepted");
        const answer = yield* settlement.submitProof(wire(nodeProof(node, header, tree, ack.leafIndex)));
        expect(answer).toMatchObject({ status: "rejected", mintedUpokt: "0" });
        expect(answer.detail).toMatch(
          /^INVALID_PROOF: leaf [0-9a-f]{64} is not a relay this gateway verified/,
        );
        expect(yield* claimStatus).toBe("rejected");
        expect((yield* settlement.weeklyTally("2026-W48")).unsettled).toEqual({ claimed: 0, rejected: 1 });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("rejects a leaf whose compute units differ from the ledger's", () =>
      Effect.gen(function* () {
        // Same leaves and same sum, weights moved around: 700 and 800 instead of 750 each.
        const { settlement, node, header, tree, ack } = yield* claimed((ledger) =>
          ledger.map((l, i) => ({ ...l, computeUnits: i % 2 === 0 ? 700 : 800 })),
        );
        const answer = yield* settlement.submitProof(wire(nodeProof(node, header, tree, ack.leafIndex)));
        expect(answer.detail).toContain("the gateway verified 750");
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("rejects a tampered proof the node signed, and the proof of another leaf", () =>
      Effect.gen(function* () {
        const { settlement, node, header, tree, ack } = yield* claimed();
        const proof = proveClaimLeaf(tree, ack.leafIndex);
        const bent = {
          ...proof,
          path: proof.path.map((s, i) => (i === 0 ? { ...s, computeUnits: "1" } : s)),
        };
        const signed = createProofSubmission(
          { gatewayAddress: TEST_GATEWAY.address, sessionId: header.sessionId, proof: bent, issuedAt: 0 },
          node,
        );
        const answer = yield* settlement.submitProof(wire(signed));
        expect(answer).toMatchObject({
          status: "rejected",
          detail: expect.stringMatching(/^INVALID_PROOF: /),
        });

        const other = yield* claimed();
        const wrongLeaf = (other.ack.leafIndex + 1) % 10;
        const otherAnswer = yield* other.settlement.submitProof(
          wire(nodeProof(other.node, other.header, other.tree, wrongLeaf)),
        );
        expect(otherAnswer.detail).toContain(`leaf ${other.ack.leafIndex} was requested`);
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("refuses a message that is not the node's own without touching the claim", () =>
      Effect.gen(function* () {
        const { settlement, node, header, tree, ack } = yield* claimed();
        const genuine = nodeProof(node, header, tree, ack.leafIndex);
        const forged = {
          ...genuine,
          proof: { ...genuine.proof, leaf: { ...genuine.proof.leaf, computeUnits: 1 } },
        };
        const exit = yield* Effect.exit(settlement.submitProof(wire(forged)));
        expect(failure(exit)).toMatchObject({ code: "INVALID_SIGNATURE" });
        const impostor: KeyPair = generateKeyPair();
        const noClaim = yield* Effect.exit(
          settlement.submitProof(wire(nodeProof(impostor, header, tree, ack.leafIndex))),
        );
        expect(failure(noClaim)).toMatchObject({ _tag: "InvalidProof", code: "INVALID_PROOF" });
        expect(failure(yield* Effect.exit(settlement.submitProof({ v: 1 })))).toMatchObject({
          code: "MALFORMED_ENVELOPE",
        });
        expect(yield* claimStatus).toBe("claimed");
        expect(yield* settlement.submitProof(wire(genuine))).toMatchObject({ status: "proven" });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect(
      "pays a stream its client cut short for the weight its ledger row holds; one its node broke (no weight) is no claimable relay",
      () =>
        Effect.gen(function* () {
          const settlement = yield* Settlement;
          yield* settlement.setWeeklyRate("2026-W48", 250_000);
          const header = sessionAt(W48_TUESDAY);
          // A cut the gateway paid (188 CU: 2 of 8 tokens of a 750-CU call) and one its node broke.
          const [paid, broken] = ledgerRelays(header, 2, 188, "cut");
          const cutNode = generateKeyPair();
          const breakingNode = generateKeyPair();
          yield* registerNode(cutNode);
          yield* registerNode(breakingNode);
          yield* writeLedger(header, cutNode.address, [{ ...paid!, outcome: "interrupted" }]);
          yield* writeLedger(header, breakingNode.address, [
            { ...broken!, computeUnits: 0, outcome: "interrupted" },
          ]);
          yield* TestClock.setTime(claimTime(header));

          const cut = nodeClaim(cutNode, header, [paid!]);
          const ack = yield* settlement.submitClaim(wire(cut.submission));
          expect(ack.status).toBe("accepted");
          const proven = yield* settlement.submitProof(
            wire(nodeProof(cutNode, header, cut.tree, ack.leafIndex)),
          );
          // floor(188 × 10^6 / 250,000) uPOKT.
          expect(proven).toMatchObject({ status: "proven", mintedUpokt: "752" });

          const claimedBroken = nodeClaim(breakingNode, header, [{ ...broken!, computeUnits: 188 }]);
          const refused = yield* Effect.exit(settlement.submitClaim(wire(claimedBroken.submission)));
          expect(failure(refused)).toMatchObject({
            code: "INVALID_CLAIM",
            detail: expect.stringContaining("verified no relay"),
          });
        }).pipe(Effect.provide(settlementTest(dialect))),
    );

    it.effect("rejects a proof after the proof window", () =>
      Effect.gen(function* () {
        const { settlement, node, header, tree, ack } = yield* claimed();
        yield* TestClock.adjust(HOUR + 1);
        const answer = yield* settlement.submitProof(wire(nodeProof(node, header, tree, ack.leafIndex)));
        expect(answer).toMatchObject({
          status: "rejected",
          detail: expect.stringContaining("CLAIM_WINDOW_CLOSED"),
        });
      }).pipe(Effect.provide(settlementTest(dialect))),
    );
  });
});
