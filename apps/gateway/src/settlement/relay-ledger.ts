import type { RelayLedgerTotals } from "@pocket-ai/protocol";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";

/**
 * Reads of the front door's relay ledger (`relays`): what this gateway — any of its replicas —
 * signed and verified for a node in a session. A verified node answer (`ok`) counts, and so does a
 * stream its client cut short while the node was still sending (`interrupted` with compute units:
 * paid for what the node's signed heads covered, its node told by a signed receipt); errors and
 * streams the node broke weigh nothing and are not claimable.
 */

/** The rows a node's claim may hold (see the module comment); `table`: the query's name for `relays`. */
const claimableRow = (table = "") => {
  const column = (name: string) => (table === "" ? name : `${table}.${name}`);
  return sql.raw(
    `(${column("outcome")} = 'ok' or (${column("outcome")} = 'interrupted' and ${column("compute_units")} > 0))`,
  );
};

const claimable = (sessionId: string, nodeAddress: string) =>
  sql`session_id = ${sessionId} and node_address = ${nodeAddress} and ${claimableRow()}`;

/** The ledger's totals for one node and session, and the heaviest relay (the per-relay mint cap). */
export interface SessionLedger extends RelayLedgerTotals {
  readonly maxComputeUnits: number;
}

export async function sessionLedger(
  db: SqlClient,
  sessionId: string,
  nodeAddress: string,
): Promise<SessionLedger> {
  // The sum as text reaches JS without passing through a float (a number would round above 2^53).
  const row = await db.get<{ relays: number; computeUnits: string; maxComputeUnits: number | null }>(sql`
    select cast(count(*) as bigint) as "relays",
           cast(coalesce(sum(compute_units), 0) as text) as "computeUnits",
           max(compute_units) as "maxComputeUnits"
    from relays where ${claimable(sessionId, nodeAddress)}`);
  return {
    relays: Number(row?.relays ?? 0),
    computeUnits: BigInt(row?.computeUnits ?? "0"),
    maxComputeUnits: Number(row?.maxComputeUnits ?? 0),
  };
}

/**
 * The compute units the ledger holds for one leaf of a node's session, or undefined if the gateway
 * never verified it. Read through the session and node's rows (`relays_session_node`), the ones
 * `sessionLedger` reads for the same proof: the ledger keeps no index on the leaf alone, which
 * every relay would write.
 */
export async function ledgerLeaf(
  db: SqlClient,
  sessionId: string,
  nodeAddress: string,
  leafHash: string,
): Promise<number | undefined> {
  const row = await db.get<{ computeUnits: number }>(sql`
    select compute_units as "computeUnits" from relays
    where ${claimable(sessionId, nodeAddress)} and leaf_hash = ${leafHash.toLowerCase()}`);
  return row === undefined ? undefined : Number(row.computeUnits);
}

/** Input and output tokens of the text-generation relays behind proven claims of a week, per service (for the Bedrock comparison; images and embeddings have no such price). */
export async function provenTextTokens(
  db: SqlClient,
  weekId: string,
): Promise<Map<string, { inputTokens: number; outputTokens: number }>> {
  const rows = await db.all<{ serviceId: string; inputTokens: number; outputTokens: number }>(sql`
    select c.service_id as "serviceId",
           cast(coalesce(sum(r.input_tokens), 0) as bigint) as "inputTokens",
           cast(coalesce(sum(r.output_tokens), 0) as bigint) as "outputTokens"
    from claims c
    join relays r on r.session_id = c.session_id and r.node_address = c.node_address
    where c.week_id = ${weekId} and c.status = 'proven' and ${claimableRow("r")}
      and r.operation in ('completions', 'chat.completions') and r.images = 0
    group by c.service_id`);
  return new Map(
    rows.map((r) => [
      r.serviceId,
      { inputTokens: Number(r.inputTokens), outputTokens: Number(r.outputTokens) },
    ]),
  );
}
