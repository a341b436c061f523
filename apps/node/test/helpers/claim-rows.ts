import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";
import type { NodeDb } from "../../src/db/relay-store.js";

/** The leaf hash of {@link insertAnsweredRows}'s row `i` of a session: distinct, in no particular order. */
export const generatedLeaf = (sessionId: string, i: number) =>
  createHash("sha256").update(`${sessionId}-${i}`).digest("hex");

/** Request and response hashes: distinct per session and row, in the order the rows are written. */
const sequential = (sessionId: string, kind: number, i: number) =>
  createHash("sha256").update(sessionId).digest("hex").slice(0, 40) +
  kind.toString(16).padStart(8, "0") +
  i.toString(16).padStart(16, "0");

/**
 * Writes the answered relays `[from, from + count)` of one session and gateway straight into a node's ledger (one
 * transaction, one prepared statement: a large session in well under a second), and the session's
 * `ledger_sessions` row, as the node's own writes leave them. Row `i` has leaf
 * `generatedLeaf(sessionId, i)` and `1 + (i % 1_000)` compute units.
 */
export function insertAnsweredRows(
  db: NodeDb,
  session: {
    readonly sessionId: string;
    readonly gatewayAddress: string;
    readonly applicationAddress: string;
    readonly serviceId: string;
    readonly sessionNumber: number;
    readonly sessionEnd: number;
  },
  count: number,
  from = 0,
): void {
  const sqlite = (db as unknown as { readonly $client: Database }).$client;
  const row = sqlite.prepare(
    `insert into relays (request_hash, session_id, session_number, session_end, service_id, tier,
       application_address, gateway_address, outcome, response_hash, leaf_hash, input_tokens,
       output_tokens, compute_units, created_at, completed_at)
     values (?, ?, ?, ?, ?, 'standard', ?, ?, 'ok', ?, ?, 1, 1, ?, 0, 0)`,
  );
  const ledgerSession = sqlite.prepare(
    `insert or ignore into ledger_sessions (session_id, gateway_address, service_id,
       application_address, session_number, session_end) values (?, ?, ?, ?, ?, ?)`,
  );
  const s = session;
  sqlite.transaction(() => {
    for (let i = from; i < from + count; i++) {
      row.run(
        sequential(s.sessionId, 0, i),
        s.sessionId,
        s.sessionNumber,
        s.sessionEnd,
        s.serviceId,
        s.applicationAddress,
        s.gatewayAddress,
        sequential(s.sessionId, 1, i),
        generatedLeaf(s.sessionId, i),
        1 + (i % 1_000),
      );
    }
    ledgerSession.run(
      s.sessionId,
      s.gatewayAddress,
      s.serviceId,
      s.applicationAddress,
      s.sessionNumber,
      s.sessionEnd,
    );
  })();
}
