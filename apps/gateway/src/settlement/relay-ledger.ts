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

/** What a proof reads of the ledger: {@link SessionLedger}, and the weight of the proven leaf. */
export interface ProofLedger extends SessionLedger {
  /** The compute units the ledger holds for the leaf, or undefined if the gateway never verified it. */
  readonly leafComputeUnits: number | undefined;
}

type TotalsRow = { relays: number; computeUnits: string; maxComputeUnits: number | null };

// The sum as text reaches JS without passing through a float (a number would round above 2^53).
const TOTALS = sql.raw(`cast(count(*) as bigint) as "relays",
  cast(coalesce(sum(compute_units), 0) as text) as "computeUnits",
  max(compute_units) as "maxComputeUnits"`);

const totalsOf = (row: TotalsRow | undefined): SessionLedger => ({
  relays: Number(row?.relays ?? 0),
  computeUnits: BigInt(row?.computeUnits ?? "0"),
  maxComputeUnits: Number(row?.maxComputeUnits ?? 0),
});

export async function sessionLedger(
  db: SqlClient,
  sessionId: string,
  nodeAddress: string,
): Promise<SessionLedger> {
  return totalsOf(
    await db.get<TotalsRow>(sql`select ${TOTALS} from relays where ${claimable(sessionId, nodeAddress)}`),
  );
}

/**
 * The session's totals ({@link sessionLedger}) and the compute units of one leaf of it, in one
 * read of the session and node's rows (`relays_session_node`): the ledger keeps no index on the
 * leaf alone, which every relay would write, so a separate look-up of the leaf read those rows a
 * second time. A leaf is one relay (its hash covers the request's, the ledger's key); were it in
 * the ledger twice, the heavier row would count.
 */
export async function proofLedger(
  db: SqlClient,
  sessionId: string,
  nodeAddress: string,
  leafHash: string,
): Promise<ProofLedger> {
  // `compute_units` is never null: the leaf's maximum is null only when no claimable row has it.
  const row = await db.get<TotalsRow & { leafComputeUnits: number | null }>(sql`
    select ${TOTALS},
      max(case when leaf_hash = ${leafHash.toLowerCase()} then compute_units end) as "leafComputeUnits"
    from relays where ${claimable(sessionId, nodeAddress)}`);
  const leaf = row?.leafComputeUnits;
  return {
    ...totalsOf(row),
    leafComputeUnits: leaf === null || leaf === undefined ? undefined : Number(leaf),
  };
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
