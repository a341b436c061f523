import type { Database } from "better-sqlite3";
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
import { type NodeDb, RelayStore } from "./relay-store.js";

const hash = (i: number) => i.toString(16).padStart(64, "0");

const record = (store: RelayStore, i: number, over: Partial<typeof relay>, ok: boolean) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const requestHash = hash(i);
      expect(yield* store.admit({ ...relay, ...over, requestHash }, 1)).toBe(true);
      if (ok) yield* store.answer(requestHash, { ...answered, leafHash: hash(1_000 + i) }, 2);
      else yield* store.refuse(requestHash, "TIMEOUT", 2);
    }),
  );

const clientOf = (db: NodeDb) => (db as unknown as { readonly $client: Database }).$client;

/** Every statement `db` runs from now on, with the values it was run with. */
function statementsOf(db: NodeDb): [string, unknown[]][] {
  const client = clientOf(db);
  const prepare = client.prepare.bind(client);
  const seen: [string, unknown[]][] = [];
  client.prepare = ((text: string) => {
    const statement = prepare(text);
    for (const method of ["run", "get", "all"] as const) {
      const call = statement[method].bind(statement) as (...values: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...values: unknown[]) => {
        seen.push([text, values]);
        return call(...values);
      };
    }
    return statement;
  }) as typeof client.prepare;
  return seen;
}

describe("the ledger's indexes of relays, each of the rows of some outcomes only", () => {
  it("serve the start's, the claim loop's and the pruning's reads: none scans the relays", async () => {
    const { db, close } = await openLedger();
    const store = new RelayStore(db);
    await record(store, 0, {}, true);
    await record(store, 1, {}, false);
    const seen = statementsOf(db);
    await Effect.runPromise(store.abandonPending(3));
    await Effect.runPromise(store.closeOpenStreams(3));
    store.unclaimedSessions(1_000);
    store.leaves(relay.sessionId, relay.gatewayAddress);
    store.leafPage(relay.sessionId, relay.gatewayAddress, 0, 10);
    await Effect.runPromise(store.prune(0, 1_000, 10));
    const client = clientOf(db);
    const plans = seen.map(([text, values]) => ({
      text,
      plan: (client.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...values) as { detail: string }[])
        .map((r) => r.detail)
        .join("\n"),
    }));
    expect(plans.length).toBeGreaterThanOrEqual(9);
    for (const { text, plan } of plans) {
      expect(plan, text).not.toMatch(/^SCAN (relays|r)\b/m);
      // A claim's leaves come in the index's order (rowid): no sort of a session's rows.
      expect(plan, text).not.toMatch(/TEMP B-TREE/);
      if (/'(error|pending)'/.test(text)) expect(plan, text).toMatch(/INDEX relays_outcome_end/);
      if (/'ok'/.test(text)) expect(plan, text).toMatch(/INDEX relays_session_gateway/);
    }
    expect(plans.filter(({ text }) => /'(error|pending)'/.test(text))).toHaveLength(4);
    expect(plans.filter(({ text }) => /'ok'/.test(text))).toHaveLength(4);
    await close();
  });

  it("are rebuilt in a ledger written before them, whose rows are still claimed, closed and pruned", async () => {
    const file = ledgerFile();
    const old = await openLedger(file, migrationsBefore("0006_relays_outcome_end_unclaimable"));
    const before = new RelayStore(old.db);
    await record(before, 0, {}, true);
    await record(before, 1, {}, false);
    await record(before, 2, {}, true);
    await record(before, 3, { sessionId: "s2", sessionEnd: 1_000 }, true);
    await record(before, 4, { sessionId: "s2", sessionEnd: 1_000 }, false);
    // A row left `pending` by an older version, and a stream's open row its process left.
    const row = (i: number, outcome: string, errorCode: string | null, stream: boolean) =>
      old.db.run(
        sql`insert into relays (request_hash, session_id, session_number, session_end, service_id, tier, application_address, gateway_address, outcome, error_code, stream, input_tokens, output_tokens, compute_units, created_at)
            values (${hash(i)}, ${relay.sessionId}, ${relay.sessionNumber}, ${relay.sessionEnd}, ${relay.serviceId}, ${relay.tier}, ${relay.applicationAddress}, ${relay.gatewayAddress}, ${outcome}, ${errorCode}, ${stream ? 1 : 0}, 5, 4, 750, 1)`,
      );
    row(5, "pending", null, false);
    row(6, "error", "STREAM_INTERRUPTED", true);
    await old.close();

    const { db, close } = await openLedger(file);
    const indexOf = (name: string) =>
      db.get<{ sql: string }>(sql`select sql from sqlite_master where name = ${name}`)?.sql;
    expect(indexOf("relays_outcome_end")).toContain("WHERE outcome = 'error' OR outcome = 'pending'");
    expect(indexOf("relays_session_gateway")).toContain("WHERE outcome = 'ok'");
    const store = new RelayStore(db);
    expect(await Effect.runPromise(store.abandonPending(3))).toBe(1);
    expect(await Effect.runPromise(store.closeOpenStreams(3))).toBe(1);
    // Its answered relays are claimed as before, in the order they were written.
    expect(store.unclaimedSessions(10).map((s) => s.sessionId)).toEqual([relay.sessionId]);
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toEqual([
      { leafHash: hash(1_000), computeUnits: answered.computeUnits },
      { leafHash: hash(1_002), computeUnits: answered.computeUnits },
    ]);
    // s1's refused rows (the one refused, the abandoned one, the stream cut) go once it ended.
    expect(await Effect.runPromise(store.prune(0, 10, 100))).toBe(3);
    expect([0, 1, 2, 5, 6].map((i) => store.outcomeOf(hash(i)))).toEqual([
      "ok",
      undefined,
      "ok",
      undefined,
      undefined,
    ]);
    // s2's claim settles: every row of it goes, its refused one too, while its session is recent.
    const claims = new ClaimStore(db);
    await Effect.runPromise(
      Effect.gen(function* () {
        yield* claims.insertBuilt({
          sessionId: "s2",
          gatewayAddress: relay.gatewayAddress,
          serviceId: relay.serviceId,
          applicationAddress: relay.applicationAddress,
          sessionNumber: relay.sessionNumber,
          sessionEnd: 1_000,
          root: "00".repeat(40),
          relayCount: 1,
          computeUnits: "16",
          nextAttemptAt: 2_000,
          updatedAt: 2_000,
        });
        yield* claims.settled("s2", relay.gatewayAddress, "proven", "42", null, null, 2_000);
      }),
    );
    expect(await Effect.runPromise(store.prune(2_000, 10, 100))).toBe(2);
    expect([3, 4].map((i) => store.outcomeOf(hash(i)))).toEqual([undefined, undefined]);
    expect(store.leaves(relay.sessionId, relay.gatewayAddress)).toHaveLength(2);
    await close();
  });
});
