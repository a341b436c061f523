import type { RelayLedgerTotals } from "@pocket-ai/protocol";
import { and, count, eq, max, sql } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";
import { relays } from "../db/schema.js";

/**
 * Reads of the front door's relay ledger (`relays`): what this gateway itself signed and verified
 * for a node in a session. Only `ok` rows count — a verified node answer; errors and interrupted
 * streams are not claimable. Synchronous (better-sqlite3): call inside `statementRunner`.
 */

const claimable = (sessionId: string, nodeAddress: string) =>
  and(eq(relays.sessionId, sessionId), eq(relays.nodeAddress, nodeAddress), eq(relays.outcome, "ok"));

/** The ledger's totals for one node and session, and the heaviest relay (the per-relay mint cap). */
export interface SessionLedger extends RelayLedgerTotals {
  readonly maxComputeUnits: number;
}

export function sessionLedger(db: GatewayDb, sessionId: string, nodeAddress: string): SessionLedger {
  const row = db
    .select({
      relays: count(),
      // SQLite sums integers exactly in 64 bits; as text, the sum reaches JS without passing
      // through a float (a number would round above 2^53).
      computeUnits: sql<string>`cast(coalesce(sum(${relays.computeUnits}), 0) as text)`,
      maxComputeUnits: max(relays.computeUnits),
    })
    .from(relays)
    .where(claimable(sessionId, nodeAddress))
    .get();
  return {
    relays: row?.relays ?? 0,
    computeUnits: BigInt(row?.computeUnits ?? "0"),
    maxComputeUnits: row?.maxComputeUnits ?? 0,
  };
}

/** The compute units the ledger holds for one leaf of a node's session, or undefined if the gateway never verified it. */
export function ledgerLeaf(
  db: GatewayDb,
  sessionId: string,
  nodeAddress: string,
  leafHash: string,
): number | undefined {
  const row = db
    .select({ computeUnits: relays.computeUnits })
    .from(relays)
    .where(and(claimable(sessionId, nodeAddress), eq(relays.leafHash, leafHash.toLowerCase())))
    .get();
  return row?.computeUnits;
}

/** Input and output tokens of the text relays behind proven claims of a week, per service (for the Bedrock comparison). */
export function provenTextTokens(
  db: GatewayDb,
  weekId: string,
): Map<string, { inputTokens: number; outputTokens: number }> {
  const rows = db.all<{ serviceId: string; inputTokens: number; outputTokens: number }>(sql`
    select c.service_id as serviceId,
           coalesce(sum(r.input_tokens), 0) as inputTokens,
           coalesce(sum(r.output_tokens), 0) as outputTokens
    from claims c
    join relays r on r.session_id = c.session_id and r.node_address = c.node_address
    where c.week_id = ${weekId} and c.status = 'proven' and r.outcome = 'ok' and r.images = 0
    group by c.service_id`);
  return new Map(
    rows.map((r) => [r.serviceId, { inputTokens: r.inputTokens, outputTokens: r.outputTokens }]),
  );
}
