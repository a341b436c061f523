import { describe, expect, it } from "@effect/vitest";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { GatewayStore } from "../db/database.js";
import { proofLedger, sessionLedger } from "./relay-ledger.js";

const NODE = "pokt1node";
const SESSION = "sess";

type Outcome = "ok" | "error" | "interrupted";

/** Rows of the ledger: the session's node's, and its neighbours' (another node, another session). */
const ROWS: readonly (readonly [
  session: string,
  node: string,
  outcome: Outcome,
  leaf: string | null,
  cu: number,
])[] = [
  [SESSION, NODE, "ok", "aa01", 750],
  [SESSION, NODE, "ok", "aa02", 600],
  [SESSION, NODE, "ok", "aa03", 0], // verified, weighs nothing
  [SESSION, NODE, "error", "aa04", 750], // refused: no claimable relay
  [SESSION, NODE, "error", null, 0],
  [SESSION, NODE, "interrupted", "aa05", 188], // cut by its client: paid for what it covered
  [SESSION, NODE, "interrupted", "aa06", 0], // broken by its node
  [SESSION, NODE, "ok", "aa07", 300], // one leaf twice
  [SESSION, NODE, "ok", "aa07", 300],
  [SESSION, NODE, "ok", "aa08", 2 ** 40], // beyond 32 bits
  [SESSION, "pokt1other", "ok", "bb01", 900],
  ["other", NODE, "ok", "cc01", 400],
];

const insertRows = (db: SqlClient) =>
  db.run(sql`insert into relays (request_hash, application_id, key_id, service_id, tier, operation, session_id,
      session_number, outcome, leaf_hash, compute_units, node_address, created_at)
    values ${sql.join(
      ROWS.map(
        ([session, node, outcome, leaf, cu], i) =>
          sql`(${`h${i}`}, 'a1', 'k1', 's', 't', 'chat.completions', ${session}, 1, ${outcome}, ${leaf}, ${cu}, ${node}, 0)`,
      ),
      sql`, `,
    )}`);

/** A leaf's weight as read on its own: the first claimable row of the session's node with that leaf. */
const leafAlone = async (db: SqlClient, session: string, node: string, leaf: string) => {
  const row = await db.get<{ cu: number }>(sql`
    select compute_units as "cu" from relays
    where session_id = ${session} and node_address = ${node}
      and (outcome = 'ok' or (outcome = 'interrupted' and compute_units > 0)) and leaf_hash = ${leaf.toLowerCase()}`);
  return row === undefined ? undefined : Number(row.cu);
};

describe.each(STORE_DIALECTS)("a proof's read of the relay ledger on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect("reads the session's totals and the leaf's weight together, as the two reads apart did", () =>
      Effect.gen(function* () {
        const db = yield* GatewayStore;
        yield* Effect.promise(() => insertRows(db));
        const totals = yield* Effect.promise(() => sessionLedger(db, SESSION, NODE));
        // Six claimable relays (two with one leaf): the refused and broken ones weigh nothing.
        expect(totals).toEqual({
          relays: 7,
          computeUnits: BigInt(750 + 600 + 0 + 188 + 300 + 300 + 2 ** 40),
          maxComputeUnits: 2 ** 40,
        });
        const expected: Record<string, number | undefined> = {
          aa01: 750,
          aa02: 600,
          aa03: 0,
          aa04: undefined,
          aa05: 188,
          aa06: undefined,
          aa07: 300,
          AA07: 300,
          aa08: 2 ** 40,
          bb01: undefined,
          cc01: undefined,
          ffff: undefined,
        };
        for (const [leaf, cu] of Object.entries(expected)) {
          const read = yield* Effect.promise(() => proofLedger(db, SESSION, NODE, leaf));
          expect(read, leaf).toEqual({ ...totals, leafComputeUnits: cu });
          expect(yield* Effect.promise(() => leafAlone(db, SESSION, NODE, leaf)), leaf).toBe(cu);
        }
        // A session the node served nothing in: empty totals, no leaf.
        expect(yield* Effect.promise(() => proofLedger(db, "none", NODE, "aa01"))).toEqual({
          relays: 0,
          computeUnits: 0n,
          maxComputeUnits: 0,
          leafComputeUnits: undefined,
        });
      }).pipe(Effect.provide(tempStore(dialect))),
    );
  });
});
