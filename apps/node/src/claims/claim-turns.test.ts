/**
 * A busy node's claim: hundreds of thousands of relays a session. Reading their rows and building
 * their tree takes seconds of work, which must not stop the relays the node serves meanwhile: the
 * claim pass gives the event loop back between slices of it, and builds the same claim as ever.
 */

import { countTurns } from "@pocket-ai/png/testing";
import { buildClaimTree, claimRoot, generateKeyPair } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import type { Database } from "better-sqlite3";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { insertAnsweredRows } from "../../test/helpers/claim-rows.js";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { claimPass } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const RELAYS = 100_000;

const passDeps = (relays: RelayStore, claims: ClaimStore, now: number, keepSettledMs = 1_000) => ({
  key: generateKeyPair(),
  relays,
  claims,
  session: SESSION,
  gateways: new Map(),
  metrics: makeNodeMetrics(),
  log: createLogger({ app: "node", level: "error" as const }),
  now: () => now,
  keepSettledMs,
  orphansSaid: new Set<string>(),
});

describe("the claim of a session of 100,000 relays", () => {
  it("is read and built in slices, with turns of the event loop between them, into the root of its rows", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    const claims = new ClaimStore(db);
    const session = {
      sessionId: "busy-session",
      gatewayAddress: generateKeyPair().address,
      applicationAddress: "app",
      serviceId: "llama-2-13b",
      sessionNumber: 0,
      sessionEnd: SESSION.sessionLengthMs,
    };
    insertAnsweredRows(db, session, RELAYS);

    const turns = countTurns();
    await Effect.runPromise(
      claimPass(passDeps(relays, claims, SESSION.sessionLengthMs + SESSION.graceMs, 86_400_000)),
    );
    turns.stop();

    const leaves = relays.leaves(session.sessionId, session.gatewayAddress);
    const expected = claimRoot(
      buildClaimTree(leaves.map((l) => ({ hash: l.leafHash, computeUnits: l.computeUnits }))),
    );
    const [claim] = claims.due(Number.MAX_SAFE_INTEGER);
    expect(claim).toMatchObject({
      root: expected.root,
      relayCount: RELAYS,
      computeUnits: expected.computeUnits,
    });
    // A turn at least per page of 4,096 rows read, and per 2,048 digests of the tree's 2 per relay.
    expect(turns.count()).toBeGreaterThanOrEqual(
      Math.floor(RELAYS / 4_096) + Math.floor((2 * RELAYS) / 2_048),
    );
    await close();
    // 100,000 rows written, read, hashed and checked again: more than the default limit on a busy machine.
  }, 120_000);
});

describe("pruning the rows of a settled claim", () => {
  it("deletes them a batch at a time with a turn of the event loop between batches", async () => {
    const { db, close } = await openLedger();
    const relays = new RelayStore(db);
    const claims = new ClaimStore(db);
    const session = {
      sessionId: "settled-session",
      gatewayAddress: generateKeyPair().address,
      applicationAddress: "app",
      serviceId: "llama-2-13b",
      sessionNumber: 0,
      sessionEnd: SESSION.sessionLengthMs,
    };
    const rows = 10_000;
    insertAnsweredRows(db, session, rows);
    const sqlite = (db as unknown as { readonly $client: Database }).$client;
    sqlite
      .prepare(
        `insert into claims (session_id, session_number, session_end, service_id, application_address,
           gateway_address, root, relay_count, compute_units, status, next_attempt_at, updated_at)
         values (?, 0, ?, ?, 'app', ?, ?, ?, '0', 'proven', 0, 0)`,
      )
      .run(
        session.sessionId,
        session.sessionEnd,
        session.serviceId,
        session.gatewayAddress,
        "00".repeat(32),
        rows,
      );

    const turns = countTurns();
    await Effect.runPromise(claimPass(passDeps(relays, claims, 10 * SESSION.sessionLengthMs)));
    turns.stop();

    expect(relays.leaves(session.sessionId, session.gatewayAddress)).toHaveLength(0);
    // Five batches of 2,000: a turn after each of the first four full ones, and one more after the
    // fifth (a full batch says more may be left).
    expect(turns.count()).toBeGreaterThanOrEqual(4);
    await close();
  });
});
