import { eq } from "drizzle-orm";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { answered, ledgerFile, openLedger, relay as unaryRelay } from "../../test/helpers/ledger-fixtures.js";
import { RelayStore, type SharedAdmission } from "./relay-store.js";
import { relays } from "./schema.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

/** A streamed relay as admission decided it. */
const relay = { ...unaryRelay, stream: true };

/** The most a stream may come to, as the relay service records it when the stream opens. */
const most = { inputTokens: 5, outputTokens: 15, computeUnits: 750 };

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
/** A stream's open row written, as the relay service waits for it; a write that fails throws. */
const opened = async (store: RelayStore, requestHash: string) => {
  const failure = await store.streamOpening(requestHash, most);
  if (failure !== undefined) throw failure;
};
const claimsFrom = (sessionEnd: number) => sessionEnd + 60_000;

describe("a stream's row while it is served", () => {
  it("is in the file as cut while the stream runs, and its outcome takes its place after every row there is", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const rowOf = (i: number) =>
      db
        .select()
        .from(relays)
        .where(eq(relays.requestHash, hash(i)))
        .get();
    expect(await run(store.admit({ ...relay, requestHash: hash(0) }, 1))).toBe(true);
    await opened(store, hash(0));
    expect(rowOf(0)).toMatchObject({
      outcome: "error",
      errorCode: "STREAM_INTERRUPTED",
      leafHash: null,
      completedAt: null,
      ...most,
    });
    // Still served here: admitted, a replay refused, a receipt answered `pending`.
    expect(store.inFlight()).toBe(1);
    expect(store.outcomeOf(hash(0))).toBe("pending");
    expect(await run(store.admit({ ...relay, requestHash: hash(0) }, 2))).toBe(false);
    expect(await run(store.settleCut(cutOf(0), 2, claimsFrom))).toBe("pending");

    expect(await run(store.admit({ ...relay, requestHash: hash(1) }, 2))).toBe(true);
    await run(store.answer(hash(1), { ...answered, leafHash: hash(1_001) }, 3));
    await run(store.answer(hash(0), { ...answered, leafHash: hash(1_000) }, 4));
    // Written after relay 1: a claim built from the first row keeps its leaves.
    expect(store.leaves(relay.sessionId, relay.gatewayAddress).map((l) => l.leafHash)).toEqual([
      hash(1_001),
      hash(1_000),
    ]);
    expect(rowOf(0)).toMatchObject({
      ...answered,
      outcome: "ok",
      errorCode: null,
      completedAt: 4,
      leafHash: hash(1_000),
    });
    expect(store.inFlight()).toBe(0);
    expect(store.unclaimedSessions(1_000)).toHaveLength(1);

    // A stream cut while served: its cut row, with what went out, takes the open row's place.
    expect(await run(store.admit({ ...relay, requestHash: hash(2) }, 5))).toBe(true);
    await opened(store, hash(2));
    await run(
      store.refuse(hash(2), "STREAM_INTERRUPTED", 6, { inputTokens: 5, outputTokens: 2, computeUnits: 750 }),
    );
    expect(rowOf(2)).toMatchObject({ outcome: "error", outputTokens: 2, completedAt: 6 });
    expect(await run(store.settleCut(cutOf(2), 7, claimsFrom))).toEqual({ refused: "more than recorded" });
    await close();
  });

  it("is left cut by a process that dies, and the gateway's receipt pays it within what the request allowed", async () => {
    const file = ledgerFile();
    const first = await openLedger(file);
    const dying = new RelayStore(first.db);
    for (const i of [0, 1]) {
      expect(await run(dying.admit({ ...relay, requestHash: hash(i) }, 1))).toBe(true);
      await opened(dying, hash(i));
    }
    await first.close();

    // The next run, on the same file: a lone node's start closes the open rows.
    const { db, close } = await openLedger(file);
    const store = new RelayStore(db);
    expect(await run(store.abandonPending(10))).toBe(0);
    expect(await run(store.closeOpenStreams(10))).toBe(2);
    expect(await run(store.closeOpenStreams(11))).toBe(0);
    expect(
      db
        .select()
        .from(relays)
        .all()
        .map((r) => [r.outcome, r.errorCode, r.completedAt]),
    ).toEqual([
      ["error", "STREAM_INTERRUPTED", 10],
      ["error", "STREAM_INTERRUPTED", 10],
    ]);
    expect(await run(store.admit({ ...relay, requestHash: hash(0) }, 11))).toBe(false);
    for (const over of [{ outputTokens: 16 }, { computeUnits: 751 }])
      expect(await run(store.settleCut(cutOf(0, over), 12, claimsFrom))).toEqual({
        refused: "more than recorded",
      });
    expect(await run(store.settleCut(cutOf(0), 12, claimsFrom))).toBe("settled");
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toEqual([
      { leafHash: hash(3_000), computeUnits: 282 },
    ]);
    // A receipt of nothing leaves the other one out of the claim.
    expect(await run(store.settleCut(cutOf(1, { outputTokens: 0, computeUnits: 0 }), 12, claimsFrom))).toBe(
      "unchanged",
    );
    await close();
  });

  it("takes a receipt from another worker only once the primary says no worker serves it", async () => {
    const { db, close } = await openLedger();
    // The primary's table: a hash held by one worker at a time, a dead worker's dropped.
    const held = new Map<string, string>();
    const worker = (name: string): SharedAdmission => ({
      admit: async (h) => {
        if (held.has(h)) return false;
        held.set(h, name);
        return true;
      },
      release: (hashes) => {
        for (const h of hashes) if (held.get(h) === name) held.delete(h);
      },
    });
    const serving = new RelayStore(db, worker("a"));
    const other = new RelayStore(db, worker("b"));
    expect(await run(serving.admit({ ...relay, requestHash: hash(0) }, 1))).toBe(true);
    await opened(serving, hash(0));
    expect(held.get(hash(0))).toBe("a");
    expect(await run(other.settleCut(cutOf(0), 2, claimsFrom))).toBe("pending");

    // Worker a dies: the primary drops its hashes; the open row is a cut stream's.
    held.clear();
    expect(await run(other.settleCut(cutOf(0), 3, claimsFrom))).toBe("settled");
    expect(held.size).toBe(0);
    expect(await run(other.settleCut(cutOf(0), 4, claimsFrom))).toBe("unchanged");
    expect(other.leaves(relay.sessionId, relay.gatewayAddress).map((l) => l.leafHash)).toEqual([hash(3_000)]);
    await close();
  });
});
