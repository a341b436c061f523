import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import {
  answered,
  ledgerFile,
  migrationsBefore,
  openLedger,
  relay,
} from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "./claim-store.js";
import { RelayStore } from "./relay-store.js";
import { ledgerSessions } from "./schema.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

const record = (store: RelayStore, i: number, over: Partial<typeof relay>, ok: boolean) =>
  Effect.gen(function* () {
    const requestHash = hash(i);
    expect(yield* store.admit({ ...relay, ...over, requestHash }, 1)).toBe(true);
    if (ok) yield* store.answer(requestHash, { ...answered, leafHash: hash(1_000 + i) }, 2);
    else yield* store.refuse(requestHash, "TIMEOUT", 2);
  });

const claimOf = (sessionId: string, gatewayAddress: string) => ({
  sessionId,
  gatewayAddress,
  serviceId: relay.serviceId,
  applicationAddress: relay.applicationAddress,
  sessionNumber: 1,
  sessionEnd: 10,
  root: "00".repeat(40),
  relayCount: 1,
  computeUnits: "16",
  nextAttemptAt: 1_000_000,
  updatedAt: 20,
});

const keys = (rows: readonly { sessionId: string; gatewayAddress: string }[]) =>
  rows.map((r) => `${r.sessionId}/${r.gatewayAddress}`).sort();

describe("the sessions the claim loop searches", () => {
  it("are the (session, gateway) pairs with an answered relay, ended and not yet claimed", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const claimStore = new ClaimStore(db);
    await Effect.runPromise(
      Effect.gen(function* () {
        // Answered relays of one pair, in one group commit and in later ones.
        yield* Effect.all([record(store, 0, {}, true), record(store, 1, {}, true)], {
          concurrency: "unbounded",
        });
        yield* record(store, 2, {}, true);
        yield* record(store, 3, { gatewayAddress: "gw2" }, true);
        // Only refused: nothing to claim.
        yield* record(store, 4, { sessionId: "s3" }, false);
        // Answered, but its session ends later.
        yield* record(store, 5, { sessionId: "s2", sessionEnd: 1_000 }, true);
      }),
    );
    expect(keys(store.unclaimedSessions(10))).toEqual(["s1/gw", "s1/gw2"]);
    expect(store.unclaimedSessions(10)[0]).toMatchObject({
      serviceId: relay.serviceId,
      applicationAddress: relay.applicationAddress,
      sessionNumber: 1,
      sessionEnd: 10,
    });
    expect(keys(store.unclaimedSessions(1_000))).toEqual(["s1/gw", "s1/gw2", "s2/gw"]);
    expect(db.select().from(ledgerSessions).all()).toHaveLength(3);

    await Effect.runPromise(
      Effect.gen(function* () {
        yield* claimStore.insertBuilt(claimOf("s1", "gw"));
        yield* claimStore.insertBuilt(claimOf("s1", "gw2"));
      }),
    );
    expect(keys(store.unclaimedSessions(1_000))).toEqual(["s2/gw"]);

    // A settled claim's rows are pruned, and its pair leaves the table with them; an unsettled one stays.
    await Effect.runPromise(claimStore.settled("s1", "gw", "proven", "42", null, null, 100));
    expect(await Effect.runPromise(store.prune(100, 9, 100))).toBe(3);
    expect(keys(db.select().from(ledgerSessions).all())).toEqual(["s1/gw2", "s2/gw"]);
    await close();
  });

  it("lets go of a session whose every answer its gateway gave up on: nothing of it is left to claim", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const claimsFrom = (sessionEnd: number) => sessionEnd + 60_000;
    await Effect.runPromise(
      Effect.gen(function* () {
        // A hedge's loser: answered, then the gateway's receipt of nothing takes it out of the claim.
        yield* record(store, 0, {}, true);
        const abandoned = yield* store.settleCut(
          {
            requestHash: hash(0),
            gatewayAddress: relay.gatewayAddress,
            sessionId: relay.sessionId,
            responseHash: hash(0),
            leafHash: hash(5_000),
            outputTokens: 0,
            computeUnits: 0,
          },
          3,
          claimsFrom,
        );
        expect(abandoned).toBe("settled");
        // Another session, answered and claimable: it stays until claimed.
        yield* record(store, 1, { sessionId: "s2" }, true);
      }),
    );
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toEqual([]);
    // The claim loop finds no leaf for s1 (no claim is built), and the pruning of ended sessions'
    // refused rows removes its last row: the search table must not keep the session for ever.
    expect(await Effect.runPromise(store.prune(0, 1_000, 100))).toBe(1);
    expect(keys(store.unclaimedSessions(1_000))).toEqual(["s2/gw"]);
    expect(keys(db.select().from(ledgerSessions).all())).toEqual(["s2/gw"]);
    await close();
  });

  it("a ledger written before the table gets it filled when it opens", async () => {
    const file = ledgerFile();
    const old = await openLedger(file, migrationsBefore("0002_ledger_sessions"));
    // The columns that ledger had (not the later `stream`).
    const row = (i: number, sessionId: string, outcome: "ok" | "error") => ({
      requestHash: hash(i),
      sessionId,
      sessionNumber: relay.sessionNumber,
      sessionEnd: relay.sessionEnd,
      serviceId: relay.serviceId,
      tier: relay.tier,
      applicationAddress: relay.applicationAddress,
      gatewayAddress: relay.gatewayAddress,
      outcome,
      createdAt: 1,
    });
    for (const r of [row(0, "s1", "ok"), row(1, "s1", "ok"), row(2, "s2", "error"), row(3, "s3", "ok")])
      old.db.run(
        sql`insert into relays (request_hash, session_id, session_number, session_end, service_id, tier, application_address, gateway_address, outcome, created_at)
            values (${r.requestHash}, ${r.sessionId}, ${r.sessionNumber}, ${r.sessionEnd}, ${r.serviceId}, ${r.tier}, ${r.applicationAddress}, ${r.gatewayAddress}, ${r.outcome}, ${r.createdAt})`,
      );
    await old.close();

    const now = await openLedger(file);
    const store = new RelayStore(now.db);
    expect(keys(store.unclaimedSessions(10))).toEqual(["s1/gw", "s3/gw"]);
    await now.close();
  });
});
