import { generateKeyPair } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { answered, openLedger, relay } from "../../test/helpers/ledger-fixtures.js";
import { claimPass } from "../claims/claim-loop.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { ClaimStore } from "./claim-store.js";
import { RelayStore } from "./relay-store.js";
import { claims, relays } from "./schema.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

/** Admits and ends one relay: answered (`ok`) or refused (`error`). */
const record = (store: RelayStore, i: number, over: Partial<typeof relay>, ok: boolean) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const requestHash = hash(i);
      expect(yield* store.admit({ ...relay, ...over, requestHash }, 1)).toBe(true);
      if (ok) yield* store.answer(requestHash, { ...answered, leafHash: hash(1_000 + i) }, 2);
      else yield* store.refuse(requestHash, "TIMEOUT", 2);
    }),
  );

const built = (sessionId: string, gatewayAddress: string, sessionEnd: number) => ({
  sessionId,
  gatewayAddress,
  serviceId: relay.serviceId,
  applicationAddress: relay.applicationAddress,
  sessionNumber: 1,
  sessionEnd,
  root: "00".repeat(40),
  relayCount: 1,
  computeUnits: "16",
  nextAttemptAt: 1_000_000,
  updatedAt: 20,
});

/** A ledger holding: s1/gw settled (3 answered, 1 refused), s1/gw2 built (not yet due), s2/gw not ended. */
async function ledger() {
  const { db, close } = await openLedger();
  const store = new RelayStore(db);
  const claimStore = new ClaimStore(db);
  for (let i = 0; i < 3; i++) await record(store, i, {}, true);
  await record(store, 3, {}, false);
  await record(store, 4, { gatewayAddress: "gw2" }, true);
  await record(store, 5, { sessionId: "s2", sessionEnd: 1_000 }, true);
  await record(store, 6, { sessionId: "s2", sessionEnd: 1_000 }, false);
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* claimStore.insertBuilt(built("s1", "gw", 10));
      yield* claimStore.insertBuilt(built("s1", "gw2", 10));
      yield* claimStore.settled("s1", "gw", "proven", "42", null, null, 100);
    }),
  );
  const left = () =>
    db
      .select({ requestHash: relays.requestHash })
      .from(relays)
      .all()
      .map((r) => Number.parseInt(r.requestHash, 16))
      .sort((a, b) => a - b);
  return { db, store, claimStore, left, close };
}

describe("pruning the node's relay ledger", () => {
  it("deletes a settled claim's rows and ended sessions' refused rows, a batch at a time, and nothing else", async () => {
    const { db, store, left, close } = await ledger();
    // The claim settled at 100: not before it, whatever the sessions.
    expect(await Effect.runPromise(store.prune(99, 9, 100))).toBe(0);
    expect(left()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Settled by 100, two rows at most per call: the settled pair's rows go first.
    expect(await Effect.runPromise(store.prune(100, 9, 2))).toBe(2);
    expect(await Effect.runPromise(store.prune(100, 9, 2))).toBe(2);
    expect(left()).toEqual([4, 5, 6]);
    expect(await Effect.runPromise(store.prune(100, 9, 2))).toBe(0);
    // Sessions that ended by 1,000: their refused rows go; answered rows of unsettled claims stay.
    expect(await Effect.runPromise(store.prune(100, 1_000, 2))).toBe(1);
    expect(left()).toEqual([4, 5]);
    // The settled claim keeps the session's totals.
    expect(
      db
        .select()
        .from(claims)
        .all()
        .find((c) => c.gatewayAddress === "gw"),
    ).toMatchObject({
      status: "proven",
      relayCount: 1,
      computeUnits: "16",
      mintedUpokt: "42",
    });
    await close();
  });

  it("is part of each claim pass, after the claims' own steps, keeping rows `keepSettledMs` past settling", async () => {
    const { store, claimStore, left, close } = await ledger();
    const metrics = makeNodeMetrics();
    const pass = (now: number, keepSettledMs: number) =>
      Effect.runPromise(
        claimPass({
          key: generateKeyPair(),
          relays: store,
          claims: claimStore,
          // Session s2 has not ended (or its grace) at any `now` here: no claim is built for it.
          session: { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 },
          gateways: new Map(),
          metrics,
          log: createLogger({ app: "node", level: "error" }),
          now: () => now,
          keepSettledMs,
          orphansSaid: new Set(),
        }),
      );
    await pass(150, 100);
    expect(left()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(metrics.registry.render()).not.toMatch(/pocket_node_ledger_pruned_total [1-9]/);
    await pass(200, 100);
    expect(left()).toEqual([4, 5, 6]);
    expect(metrics.registry.render()).toMatch(/pocket_node_ledger_pruned_total 4\b/);
    await close();
  });
  it("finds a settled claim's refused rows through its session, not its window's end, which every session of the window shares", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    const claimStore = new ClaimStore(db);
    // One window past its grace: 200 sessions claimed and settled, and 30,000 refused relays of
    // other sessions of the window (a backend that was down) left to prune.
    db.run(sql`
      with recursive n(i) as (select 0 union all select i + 1 from n where i < 29999)
      insert into relays (request_hash, session_id, session_number, session_end, service_id, tier,
          application_address, gateway_address, outcome, error_code, created_at, completed_at)
        select 'e' || i, 'x' || (i / 100), 1, 10, 'svc', 't', 'app', 'gw', 'error', 'BACKEND_ERROR', 1, 2 from n`);
    await Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < 200; i++) {
          yield* claimStore.insertBuilt(built(`c${i}`, "gw", 10));
          yield* claimStore.settled(`c${i}`, "gw", "proven", "42", null, null, 100);
        }
      }),
    );
    const started = performance.now();
    expect(await Effect.runPromise(store.prune(100, 9_999, 2_000))).toBe(2_000);
    const tookMs = performance.now() - started;
    // Read claim by claim through the window's end, it reads the window's 30,000 refused rows
    // for each of the 200 claims (6 million rows, seconds on the node's one thread); through the
    // ended sessions' refused rows, the 2,000 it deletes.
    expect(tookMs).toBeLessThan(500);
    await close();
  });
});
