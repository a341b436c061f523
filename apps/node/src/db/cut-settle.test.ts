import { eq, sql } from "drizzle-orm";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import {
  answered,
  ledgerFile,
  migrationsBefore,
  openLedger,
  relay as unaryRelay,
} from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "./claim-store.js";
import { RelayStore } from "./relay-store.js";
import { ledgerSessions, relays } from "./schema.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

/** A streamed relay as admission decided it. */
const relay = { ...unaryRelay, stream: true };

/** A gateway's cut receipt for relay `i`, as the node hands it to its ledger. */
const cutOf = (i: number, over: Partial<Parameters<RelayStore["settleCut"]>[0]> = {}) => ({
  requestHash: hash(i),
  gatewayAddress: relay.gatewayAddress,
  sessionId: relay.sessionId,
  responseHash: hash(2_000 + i),
  leafHash: hash(3_000 + i),
  outputTokens: 3,
  computeUnits: 282,
  ...over,
});

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

/** Claims of a session may be built from its end plus 60 s (the test's grace). */
const claimsFrom = (sessionEnd: number) => sessionEnd + 60_000;

describe("a gateway's receipt for a stream cut short", () => {
  it("puts the relay into the claim after every row there was, once, and only as the node recorded it", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const admit = (i: number, over: Partial<typeof relay> = {}) =>
      run(store.admit({ ...relay, ...over, requestHash: hash(i) }, 1));
    // Relay 0: a stream cut after 4 output tokens went out. Relay 1: answered after it.
    expect(await admit(0)).toBe(true);
    await run(
      store.refuse(hash(0), "STREAM_INTERRUPTED", 2, { inputTokens: 5, outputTokens: 4, computeUnits: 750 }),
    );
    expect(await admit(1)).toBe(true);
    await run(store.answer(hash(1), { ...answered, leafHash: hash(1_001) }, 3));
    // Relay 2: refused for a reason of its own. Relay 3: still being served.
    expect(await admit(2)).toBe(true);
    await run(store.refuse(hash(2), "TIMEOUT", 2));
    expect(await admit(3)).toBe(true);
    const leaves = (first?: number) =>
      store.leaves(relay.sessionId, relay.gatewayAddress, first).map((l) => l.leafHash);
    expect(leaves()).toEqual([hash(1_001)]);

    // What the ledger cannot vouch for changes nothing.
    for (const [refused, why] of [
      [cutOf(0, { outputTokens: 5 }), "more than recorded"], // more output than the node sent
      [cutOf(0, { computeUnits: 751 }), "more than recorded"], // more weight than the whole call's
      [cutOf(0, { computeUnits: Number.MAX_SAFE_INTEGER }), "more than recorded"],
      [cutOf(0, { gatewayAddress: "gw2" }), "another gateway"], // another gateway than the relay's
      [cutOf(0, { sessionId: "s2" }), "another session"],
      [cutOf(0, { responseHash: hash(0) }), "no head"], // a paid share needs a signed head
      [cutOf(2), "not cut"], // refused for a reason of its own
      [cutOf(1), "more than recorded"], // answered whole, with less weight (16) than the receipt's
    ] as const)
      expect(await run(store.settleCut(refused, 4, claimsFrom))).toEqual({ refused: why });
    // Not here (yet): a gateway asks again.
    expect(await run(store.settleCut(cutOf(9), 4, claimsFrom))).toBe("unknown");
    expect(await run(store.settleCut(cutOf(3), 4, claimsFrom))).toBe("pending");
    expect(leaves()).toEqual([hash(1_001)]);

    expect(await run(store.settleCut(cutOf(0), 4, claimsFrom))).toBe("settled");
    // After the rows there were: a claim already built from the first one keeps its leaves.
    expect(leaves()).toEqual([hash(1_001), hash(3_000)]);
    expect(leaves(1)).toEqual([hash(1_001)]);
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)[1]).toEqual({
      leafHash: hash(3_000),
      computeUnits: 282,
    });
    // The same receipt again is taken, changing nothing; another weight for the same relay is not.
    expect(await run(store.settleCut(cutOf(0), 5, claimsFrom))).toBe("unchanged");
    expect(await run(store.settleCut(cutOf(0, { computeUnits: 283 }), 5, claimsFrom))).toEqual({
      refused: "settled otherwise",
    });
    expect(leaves()).toEqual([hash(1_001), hash(3_000)]);
    // Still a replay: the row is there under the same request hash.
    expect(await admit(0)).toBe(false);
    await close();
  });

  it("makes the cut the session's first claimable relay when it is the only one", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    expect(await run(store.admit({ ...relay, sessionId: "only", requestHash: hash(7) }, 1))).toBe(true);
    await run(
      store.refuse(hash(7), "STREAM_INTERRUPTED", 2, { inputTokens: 5, outputTokens: 4, computeUnits: 750 }),
    );
    expect(store.unclaimedSessions(1_000)).toEqual([]);
    expect(await run(store.settleCut(cutOf(7, { sessionId: "only" }), 3, claimsFrom))).toBe("settled");
    expect(store.unclaimedSessions(1_000).map((s) => s.sessionId)).toEqual(["only"]);
    expect(db.select().from(ledgerSessions).all()).toHaveLength(1);
    await close();
  });

  it("lowers a stream the node finished while its client left to the gateway's leaf and weight, in place, until its claim may be built", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const finished = async (i: number, sessionId = relay.sessionId) => {
      expect(await run(store.admit({ ...relay, sessionId, requestHash: hash(i) }, 1))).toBe(true);
      await run(store.answer(hash(i), { ...answered, leafHash: hash(1_000 + i), computeUnits: 750 }, 2));
    };
    // Relays 0, 1, 2 answered whole (the node sent its final chunk); the client of relay 1 left
    // before the gateway had passed it all on, so the gateway paid it as a cut.
    for (const i of [0, 1, 2]) await finished(i);
    const leaves = () => store.leaves(relay.sessionId, relay.gatewayAddress);
    for (const over of [{ computeUnits: 751 }, { outputTokens: 10 }])
      expect(await run(store.settleCut(cutOf(1, over), 3, claimsFrom))).toEqual({
        refused: "more than recorded",
      });
    expect(await run(store.settleCut(cutOf(1), 3, claimsFrom))).toBe("settled");
    expect(leaves()).toEqual([
      { leafHash: hash(1_000), computeUnits: 750 },
      { leafHash: hash(3_001), computeUnits: 282 },
      { leafHash: hash(1_002), computeUnits: 750 },
    ]);
    expect(await run(store.settleCut(cutOf(1), 4, claimsFrom))).toBe("unchanged");
    // A receipt of nothing (the client left before a signed head covered what it read): the
    // finished relay leaves the claim; a paid one is not unpaid by it.
    const nothing = (i: number) => cutOf(i, { outputTokens: 0, computeUnits: 0, responseHash: hash(i) });
    expect(await run(store.settleCut(nothing(1), 4, claimsFrom))).toEqual({ refused: "settled otherwise" });
    expect(await run(store.settleCut(nothing(0), 4, claimsFrom))).toBe("settled");
    expect(leaves().map((l) => l.leafHash)).toEqual([hash(3_001), hash(1_002)]);
    expect(await run(store.settleCut(nothing(0), 5, claimsFrom))).toBe("unchanged");
    // Once a claim of the session may be built, its leaves stay as they are.
    expect(await run(store.settleCut(cutOf(2), relay.sessionEnd + 60_000, claimsFrom))).toEqual({
      refused: "claim may be built",
    });
    await finished(3, "s9");
    await run(
      new ClaimStore(db).insertBuilt({
        sessionId: "s9",
        gatewayAddress: relay.gatewayAddress,
        serviceId: relay.serviceId,
        applicationAddress: relay.applicationAddress,
        sessionNumber: 1,
        sessionEnd: relay.sessionEnd,
        root: "00".repeat(40),
        relayCount: 1,
        computeUnits: "750",
        nextAttemptAt: 1_000_000,
        updatedAt: 3,
      }),
    );
    expect(await run(store.settleCut(cutOf(3, { sessionId: "s9" }), 3, claimsFrom))).toEqual({
      refused: "claim may be built",
    });
    expect(store.leaves("s9", relay.gatewayAddress)).toEqual([{ leafHash: hash(1_003), computeUnits: 750 }]);
    await close();
  });

  it("takes a receipt of nothing for a stream recorded cut without changing it", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    expect(await run(store.admit({ ...relay, requestHash: hash(4) }, 1))).toBe(true);
    await run(
      store.refuse(hash(4), "STREAM_INTERRUPTED", 2, { inputTokens: 5, outputTokens: 0, computeUnits: 750 }),
    );
    const nothing = cutOf(4, { outputTokens: 0, computeUnits: 0, responseHash: hash(4) });
    expect(await run(store.settleCut(nothing, 3, claimsFrom))).toBe("unchanged");
    expect(db.select().from(relays).all()).toMatchObject([
      { outcome: "error", errorCode: "STREAM_INTERRUPTED", leafHash: null, computeUnits: 750 },
    ]);
    await close();
  });

  it("refuses a unary relay's receipt that pays anything: it was not a stream", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    // Relay 5: a unary answer. Relay 6: a unary call whose gateway went away before the answer.
    for (const i of [5, 6])
      expect(await run(store.admit({ ...unaryRelay, requestHash: hash(i) }, 1))).toBe(true);
    await run(store.answer(hash(5), { ...answered, leafHash: hash(1_005), computeUnits: 750 }, 2));
    await run(store.refuse(hash(6), "INTERNAL", 2, { inputTokens: 5, outputTokens: 4, computeUnits: 750 }));
    const before = db.select().from(relays).all();
    for (const receipt of [
      cutOf(5), // lower weight and another leaf
      cutOf(6), // into the claim
    ])
      expect(await run(store.settleCut(receipt, 3, claimsFrom))).toEqual({ refused: "unary" });
    expect(db.select().from(relays).all()).toEqual(before);
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toEqual([
      { leafHash: hash(1_005), computeUnits: 750 },
    ]);
    await close();
  });

  it("takes a unary relay its gateway gave up on out of the claim, only while no claim can have been built", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    // Relays 7 and 8: unary answers the gateway gave up on as they were on their way (a hedge's
    // loser, a caller gone). Relay 9: one the node itself recorded cut off.
    for (const i of [7, 8, 9])
      expect(await run(store.admit({ ...unaryRelay, requestHash: hash(i) }, 1))).toBe(true);
    await run(store.answer(hash(7), { ...answered, leafHash: hash(1_007), computeUnits: 750 }, 2));
    await run(store.answer(hash(8), { ...answered, leafHash: hash(1_008), computeUnits: 750 }, 2));
    await run(store.refuse(hash(9), "INTERNAL", 2));
    const abandoned = (i: number) => cutOf(i, { outputTokens: 0, computeUnits: 0, responseHash: hash(i) });
    expect(await run(store.settleCut(abandoned(7), 3, claimsFrom))).toBe("settled");
    expect(await run(store.settleCut(abandoned(7), 3, claimsFrom))).toBe("unchanged");
    expect(await run(store.settleCut(abandoned(9), 3, claimsFrom))).toBe("unchanged");
    // Too late: the session's claim may be built from the leaves as they are.
    expect(await run(store.settleCut(abandoned(8), claimsFrom(relay.sessionEnd), claimsFrom))).toEqual({
      refused: "claim may be built",
    });
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toEqual([
      { leafHash: hash(1_008), computeUnits: 750 },
    ]);
    expect(
      db
        .select()
        .from(relays)
        .where(eq(relays.requestHash, hash(7)))
        .get(),
    ).toMatchObject({
      outcome: "error",
      errorCode: "INTERNAL",
      leafHash: null,
      computeUnits: 0,
    });
    await close();
  });

  it("knows a ledger's earlier rows: a stream recorded cut takes its receipt, any other row none", async () => {
    const file = ledgerFile();
    const old = await openLedger(file, migrationsBefore("0005_relays_stream"));
    // Rows as the version before the `stream` column wrote them.
    const row = (i: number, outcome: string, errorCode: string | null, leaf: string | null, units: number) =>
      old.db.run(
        sql`insert into relays (request_hash, session_id, session_number, session_end, service_id, tier, application_address, gateway_address, outcome, error_code, response_hash, leaf_hash, input_tokens, output_tokens, compute_units, created_at, completed_at)
            values (${hash(i)}, ${relay.sessionId}, ${relay.sessionNumber}, ${relay.sessionEnd}, ${relay.serviceId}, ${relay.tier}, ${relay.applicationAddress}, ${relay.gatewayAddress}, ${outcome}, ${errorCode}, ${leaf}, ${leaf}, 5, 4, ${units}, 1, 2)`,
      );
    row(0, "error", "STREAM_INTERRUPTED", null, 750); // a stream cut short
    row(1, "ok", null, hash(1_001), 750); // an answer, streamed or not: the ledger did not say
    await old.close();

    const { db, close } = await openLedger(file);
    const store = new RelayStore(db);
    expect(db.select({ stream: relays.stream }).from(relays).orderBy(relays.requestHash).all()).toEqual([
      { stream: true },
      { stream: false },
    ]);
    expect(await run(store.settleCut(cutOf(1), 3, claimsFrom))).toEqual({ refused: "unary" });
    expect(await run(store.settleCut(cutOf(0), 3, claimsFrom))).toBe("settled");
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toEqual([
      { leafHash: hash(1_001), computeUnits: 750 },
      { leafHash: hash(3_000), computeUnits: 282 },
    ]);
    await close();
  });
});
