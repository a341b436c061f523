import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { answered, openLedger, relay } from "../../test/helpers/ledger-fixtures.js";
import { RelayStore } from "./relay-store.js";
import { ledgerSessions } from "./schema.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

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

describe("a gateway's receipt for a stream cut short", () => {
  it("puts the relay into the claim after every row there was, once, and only as the node recorded it", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const admit = (i: number, over: Partial<typeof relay> = {}) =>
      run(store.admit({ ...relay, ...over, requestHash: hash(i) }, 1));
    // Relay 0: a stream cut after 4 output tokens went out. Relay 1: answered after it.
    expect(await admit(0)).toBe(true);
    await run(store.refuse(hash(0), "STREAM_INTERRUPTED", 2, { inputTokens: 5, outputTokens: 4 }));
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
    for (const refused of [
      cutOf(0, { outputTokens: 5 }), // more output than the node sent
      cutOf(0, { gatewayAddress: "gw2" }), // another gateway than the relay's
      cutOf(0, { sessionId: "s2" }),
      cutOf(2), // not a stream cut short
      cutOf(1), // answered whole
      cutOf(9), // never served here
    ])
      expect(await run(store.settleCut(refused, 4))).toBe("unknown");
    expect(await run(store.settleCut(cutOf(3), 4))).toBe("pending");
    expect(leaves()).toEqual([hash(1_001)]);

    expect(await run(store.settleCut(cutOf(0), 4))).toBe("settled");
    // After the rows there were: a claim already built from the first one keeps its leaves.
    expect(leaves()).toEqual([hash(1_001), hash(3_000)]);
    expect(leaves(1)).toEqual([hash(1_001)]);
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)[1]).toEqual({
      leafHash: hash(3_000),
      computeUnits: 282,
    });
    // The same receipt again is taken; another weight for the same relay is not.
    expect(await run(store.settleCut(cutOf(0), 5))).toBe("settled");
    expect(await run(store.settleCut(cutOf(0, { computeUnits: 283 }), 5))).toBe("unknown");
    expect(leaves()).toEqual([hash(1_001), hash(3_000)]);
    // Still a replay: the row is there under the same request hash.
    expect(await admit(0)).toBe(false);
    await close();
  });

  it("makes the cut the session's first claimable relay when it is the only one", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    expect(await run(store.admit({ ...relay, sessionId: "only", requestHash: hash(7) }, 1))).toBe(true);
    await run(store.refuse(hash(7), "STREAM_INTERRUPTED", 2, { inputTokens: 5, outputTokens: 4 }));
    expect(store.unclaimedSessions(1_000)).toEqual([]);
    expect(await run(store.settleCut(cutOf(7, { sessionId: "only" }), 3))).toBe("settled");
    expect(store.unclaimedSessions(1_000).map((s) => s.sessionId)).toEqual(["only"]);
    expect(db.select().from(ledgerSessions).all()).toHaveLength(1);
    await close();
  });
});
