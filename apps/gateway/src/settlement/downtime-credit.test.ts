import { describe, expect, it } from "@effect/vitest";
import { generateKeyPair, type SessionHeader } from "@pocket-ai/protocol";
import { Context, Effect, Exit, Layer, Scope, TestClock } from "effect";
import {
  HOUR,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  registerNode,
  sessionAt,
  W48_TUESDAY,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { SettlementTestServices } from "../../test/support/settlement-test-layer.js";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { Settlement } from "./settlement.js";

const wire = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));
const MINUTE = 60_000;

/** Settlement started at `at` over the test's store, as a gateway starts it; `stop` ends it. */
const start = (at: number) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(at);
    const scope = yield* Scope.make();
    const context = yield* Layer.buildWithScope(SettlementTestServices, scope);
    return { settlement: Context.get(context, Settlement), stop: Scope.close(scope, Exit.void) };
  });

/** A node's accepted claim of `header` (10 verified relays) at `at`. */
const claimAt = (settlement: Context.Tag.Service<Settlement>, header: SessionHeader, at: number) =>
  Effect.gen(function* () {
    const node = generateKeyPair();
    yield* registerNode(node);
    const relays = ledgerRelays(header, 10);
    yield* writeLedger(header, node.address, relays);
    yield* TestClock.setTime(at);
    const { tree, submission } = nodeClaim(node, header, relays);
    const ack = yield* settlement.submitClaim(wire(submission));
    expect(ack.status).toBe("accepted");
    return { node, proof: wire(nodeProof(node, header, tree, ack.leafIndex)) };
  });

// W48's last session ends as the week does; its claims may come for a day (and the grace) after.
const WEEK_END = Date.UTC(2026, 10, 30);
const CLAIMS_UNTIL = WEEK_END + MINUTE + 24 * HOUR;

describe.each(STORE_DIALECTS)("the proof windows a gateway's downtime cost, on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.scoped(
      "are given back to the claims open when it went down, at most until their week's proofs close, once",
      () =>
        Effect.gen(function* () {
          const first = yield* start(W48_TUESDAY);
          yield* first.settlement.setWeeklyRate("2026-W48", 250_000);
          // Closed before the gateway went down: it gets nothing back.
          const closed = yield* claimAt(
            first.settlement,
            sessionAt(WEEK_END - 90 * MINUTE),
            CLAIMS_UNTIL - 130 * MINUTE,
          );
          // Open when it went down, late in the week's claim window.
          const open = yield* claimAt(
            first.settlement,
            sessionAt(WEEK_END - 30 * MINUTE),
            CLAIMS_UNTIL - 40 * MINUTE,
          );
          const lastAlive = CLAIMS_UNTIL - 30 * MINUTE;
          yield* first.settlement.heartbeat(lastAlive);
          yield* first.stop;

          // Down 55 minutes: the open claim's window (until CLAIMS_UNTIL + 20 min) closed meanwhile.
          const restart = lastAlive + 55 * MINUTE;
          const second = yield* start(restart);
          // Another replica starting just after it finds the gateway up, and extends nothing more.
          const replica = yield* start(restart + MINUTE);
          const claims = new Map(
            (yield* replica.settlement.listClaims()).map((c) => [c.nodeAddress, c.proofDeadline]),
          );
          const { proofsUntil } = (yield* replica.settlement.weeklyTally("2026-W48")).finality;
          expect(proofsUntil).toBe(CLAIMS_UNTIL + HOUR);
          // 20 minutes + 55 would pass the week's proofs: it stops there, so the tally can be final.
          expect(claims.get(open.node.address)).toBe(proofsUntil);
          expect(claims.get(closed.node.address)).toBe(CLAIMS_UNTIL - 70 * MINUTE);

          expect(yield* second.settlement.submitProof(open.proof)).toMatchObject({
            status: "proven",
            mintedUpokt: "30000",
          });
          expect(yield* second.settlement.submitProof(closed.proof)).toMatchObject({
            status: "rejected",
            detail: `CLAIM_WINDOW_CLOSED: the proof window closed at ${new Date(CLAIMS_UNTIL - 70 * MINUTE).toISOString()}`,
          });
        }).pipe(Effect.provide(tempStore(dialect))),
    );
  });
});
