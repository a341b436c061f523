import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per relay this node answered or refused. Only hashes and counts: never prompt or output
 * text. The row is written once, with its outcome, before the signed response leaves the node, so
 * an answered relay survives a crash and is in the session's claim after a restart; while a relay
 * is in flight the ledger holds it in memory (see `RelayStore`). A stream's row is written before
 * its first chunk too, as cut with no `completed_at`, and its outcome takes its place: a stream
 * whose process died stays recorded cut (see `RelayStore.streamOpening`). `pending` rows come only
 * from earlier versions, which wrote a row on admission.
 */
export const relays = sqliteTable(
  "relays",
  {
    requestHash: text("request_hash").primaryKey(),
    sessionId: text("session_id").notNull(),
    sessionNumber: integer("session_number").notNull(),
    sessionEnd: integer("session_end").notNull(),
    serviceId: text("service_id").notNull(),
    tier: text("tier").notNull(),
    applicationAddress: text("application_address").notNull(),
    gatewayAddress: text("gateway_address").notNull(),
    /**
     * `ok` (answered: claimable; with `error_code` STREAM_INTERRUPTED, a stream its client cut short
     * that the gateway's receipt paid for), `error` (refused or failed: not claimable); `pending`:
     * see above.
     */
    outcome: text("outcome", { enum: ["pending", "ok", "error"] }).notNull(),
    /**
     * Whether the relay was streamed: only a stream can be cut short, so only its row takes a
     * gateway's cut receipt (see `RelayStore.settleCut`). Rows written before the column have it
     * from their error code: a stream recorded cut (`STREAM_INTERRUPTED`, written only by the
     * stream path) is one; any other is taken for unary, so no receipt changes it.
     */
    stream: integer("stream", { mode: "boolean" }).notNull().default(false),
    errorCode: text("error_code"),
    responseHash: text("response_hash"),
    leafHash: text("leaf_hash"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    computeUnits: integer("compute_units").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    completedAt: integer("completed_at"),
  },
  (t) => [
    // A session's claim leaves, in the order they were written (rowid), and the rows of a settled
    // claim to prune: answered rows only, so a refused relay's write (or a stream's open row's)
    // touches one B-tree less.
    index("relays_session_gateway").on(t.sessionId, t.gatewayAddress).where(sql`outcome = 'ok'`),
    // The rows no claim holds: the pruning of refused rows (`error`) reads one range of it, and the
    // start's look for `pending` rows and open streams another. Answered rows, most of the ledger,
    // are not in it (the claim loop finds their sessions in `ledger_sessions`): their write
    // touches one B-tree less.
    index("relays_outcome_end")
      .on(t.outcome, t.sessionEnd)
      .where(sql`outcome = 'error' OR outcome = 'pending'`),
  ],
);

/** The session a ledger session or a claim is for, and the gateway it is with (fresh builders each call). */
const sessionColumns = () => ({
  sessionId: text("session_id").notNull(),
  gatewayAddress: text("gateway_address").notNull(),
  serviceId: text("service_id").notNull(),
  applicationAddress: text("application_address").notNull(),
  sessionNumber: integer("session_number").notNull(),
  sessionEnd: integer("session_end").notNull(),
});

/**
 * One row per (session, gateway) that has an answered relay in the ledger, written in the same
 * transaction as the first such relay's row: the claim loop's search for ended sessions to claim
 * reads these, one row per session, instead of every answered relay (hundreds of thousands per
 * session on a busy node). Deleted with the relay rows of its settled claim.
 */
export const ledgerSessions = sqliteTable("ledger_sessions", sessionColumns(), (t) => [
  primaryKey({ columns: [t.sessionId, t.gatewayAddress] }),
  index("ledger_sessions_end").on(t.sessionEnd),
]);

/**
 * One claim per (session, gateway): built when the session's window (plus grace) has passed,
 * submitted, then proven when the gateway reveals the proof seed. Retried with backoff; the row
 * is the state that survives restarts.
 */
export const claims = sqliteTable(
  "claims",
  {
    ...sessionColumns(),
    root: text("root").notNull(),
    relayCount: integer("relay_count").notNull(),
    /** Decimal string: sums of compute units can exceed 2^53 over a long session. */
    computeUnits: text("compute_units").notNull(),
    status: text("status", { enum: ["built", "claimed", "proven", "rejected"] }).notNull(),
    proofSeed: text("proof_seed"),
    attempts: integer("attempts").notNull().default(0),
    /**
     * The gateway's CLAIM_WINDOW_CLOSED answers to this claim: counted apart from `attempts` (which
     * also counts waits for the week's rate), so that only refusals of the window give the claim up.
     */
    windowRefusals: integer("window_refusals").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastError: text("last_error"),
    mintedUpokt: text("minted_upokt"),
    /** The gateway's signed `ClaimAck` (JSON), kept as evidence of the claim it took. */
    claimReceipt: text("claim_receipt"),
    /** The gateway's signed `ProofAck` (JSON), kept as evidence of how it settled the claim. */
    proofReceipt: text("proof_receipt"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.gatewayAddress] }),
    index("claims_due").on(t.status, t.nextAttemptAt),
  ],
);

export const nodeSchema = { relays, ledgerSessions, claims };
