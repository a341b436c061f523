import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// ── accounts ─────────────────────────────────────────────────────────────────────────────────
// Applications (the portal's customers) and their API keys, with each key's limits and its
// persistent budget counters. Money is integer micro-USD.

/**
 * A customer of this portal. `address` is the `pokt1…` application address that sessions are
 * derived from (see `accounts/application-address.ts`); it is fixed at creation.
 */
export const applications = sqliteTable("applications", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  operator: text("operator"),
  address: text("address").notNull().unique(),
  status: text("status", { enum: ["active", "disabled"] }).notNull(),
  createdAt: integer("created_at").notNull(),
  disabledAt: integer("disabled_at"),
  /**
   * 1: a small share of this application's completions may be held in memory (never stored) for
   * the evaluator to score the node that served them (organic checks); 0: never.
   */
  organicChecks: integer("organic_checks").notNull().default(1),
});

/**
 * An API key: only the SHA-256 of the secret is kept, with a short visible prefix so an operator
 * can tell keys apart. `spent` + `reserved` never exceed `budget`: every reservation is one
 * conditional UPDATE (see `limits/budget-ledger.ts`). `requests` and `tokens` count settled relays.
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    applicationId: text("application_id")
      .notNull()
      .references(() => applications.id),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    status: text("status", { enum: ["active", "revoked"] }).notNull(),
    rpm: integer("rpm"),
    tpm: integer("tpm"),
    budgetMicroUsd: integer("budget_micro_usd"),
    spentMicroUsd: integer("spent_micro_usd").notNull().default(0),
    reservedMicroUsd: integer("reserved_micro_usd").notNull().default(0),
    requests: integer("requests").notNull().default(0),
    tokens: integer("tokens").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    lastUsedAt: integer("last_used_at"),
    /** `evaluator` keys may target one node (header `x-pocket-target-node`); their relays look like any other to the node. */
    role: text("role", { enum: ["application", "evaluator"] })
      .notNull()
      .default("application"),
  },
  (t) => [
    index("api_keys_application").on(t.applicationId),
    check("api_keys_reserved_nonnegative", sql`${t.reservedMicroUsd} >= 0`),
  ],
);

/**
 * Each reservation a relay holds until it ends, in the database so that every replica sees it:
 * its share of the key's rate window (`at`, `requests`, `tokens`, the actual tokens once settled)
 * and the micro-USD it still holds back in `api_keys.reserved_micro_usd` (0 once settled). Rows
 * leave the window after 60 s; a reservation whose process died is given back by the sweep.
 */
export const keyReservations = sqliteTable(
  "key_reservations",
  {
    id: text("id").primaryKey(),
    keyId: text("key_id").notNull(),
    at: integer("at").notNull(),
    requests: integer("requests").notNull(),
    tokens: integer("tokens").notNull(),
    heldMicroUsd: integer("held_micro_usd").notNull(),
    /** 1 while the relay runs (the hold counts in `reserved_micro_usd`); 0 once settled or released. */
    open: integer("open").notNull(),
  },
  // No index on `at` alone: the sweep, its only reader, reads old rows through the primary key,
  // whose ids start with their time (see `releaseStaleReservations`), and each reservation and
  // settlement writes one index less.
  (t) => [index("key_reservations_key_at").on(t.keyId, t.at)],
);

/**
 * The rate window of each key with a limit in 1 s buckets: the requests and tokens of the key's
 * reservations whose `at` falls in second `second` (`floor(at / 1000)`), kept equal to the sum of
 * those `key_reservations` rows by the transactions that reserve, settle and release (and rebuilt
 * from them when the key's limits change). A reservation reads at most 61 of them instead of every
 * row of the last minute; the sweep drops buckets that left the window.
 */
export const keyRateBuckets = sqliteTable(
  "key_rate_buckets",
  {
    keyId: text("key_id").notNull(),
    second: integer("second").notNull(),
    requests: integer("requests").notNull(),
    tokens: integer("tokens").notNull(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.second] }), index("key_rate_buckets_second").on(t.second)],
);

// ── nodes ────────────────────────────────────────────────────────────────────────────────────
// Nodes known from their signed announcements. The latest verified announcement is kept whole
// (JSON) so routing sees exactly what the node declared. Rows stay after their node stops
// announcing (claims look them up); routing loads only those announced within
// `routing.forgetNodesAfterMs`, by the `last_announced_at` index. A node's arrival (its first
// announcement, or its first after it was forgotten) is counted against the network it came from
// (`routing.newNodesPerNetworkPerHour`), by the `nodes_arrivals` index.

export const nodes = sqliteTable(
  "nodes",
  {
    address: text("address").primaryKey(),
    publicKey: text("public_key").notNull(),
    endpoint: text("endpoint").notNull(),
    operator: text("operator"),
    /**
     * The verified `NodeAnnouncement` as this gateway reads it, as JSON: flags of a newer version
     * that it does not know are dropped, so the signature covers it only when none were sent.
     */
    announcement: text("announcement").notNull(),
    registeredAt: integer("registered_at").notNull(),
    lastAnnouncedAt: integer("last_announced_at").notNull(),
    status: text("status", { enum: ["active", "removed"] })
      .notNull()
      .default("active"),
    /** A keyed tag of the network the node last arrived from (never the address itself). */
    arrivedFrom: text("arrived_from"),
    /** When the node last arrived: first announced, or announced again after it was forgotten. */
    arrivedAt: integer("arrived_at"),
  },
  (t) => [
    index("nodes_last_announced").on(t.lastAnnouncedAt),
    index("nodes_arrivals").on(t.arrivedFrom, t.arrivedAt),
  ],
);

// ── relays ───────────────────────────────────────────────────────────────────────────────────
// One row per relay the gateway sent: the billing record (application, key, tokens, price) and
// the settlement ledger (node, session, leaf hash, compute units of the node-signed answer).
// Never prompt or output text. Written in batches off the hot path.

export const relays = sqliteTable(
  "relays",
  {
    requestHash: text("request_hash").primaryKey(),
    applicationId: text("application_id").notNull(),
    keyId: text("key_id").notNull(),
    /** The service the node served it under (its session's, as claims name it); the sold one when no node answered. */
    serviceId: text("service_id").notNull(),
    /** The tier the node served it under (its envelope's); the sold one when no node answered. */
    tier: text("tier").notNull(),
    /**
     * The service and tier the customer bought (`quality-gpt-3.5` / `batch`), which differ from the
     * served ones for a quality or skill sale or a tier a dearer one covers. Empty in rows written
     * before these columns existed (or by a replica not yet upgraded): read them as the served pair
     * (`SOLD_SERVICE` in `usage-report.ts`), never rewritten in place.
     */
    soldServiceId: text("sold_service_id").notNull().default(""),
    soldTier: text("sold_tier").notNull().default(""),
    operation: text("operation").notNull(),
    nodeAddress: text("node_address"),
    sessionId: text("session_id").notNull(),
    sessionNumber: integer("session_number").notNull(),
    /** `ok`: a verified node answer (claimable); `error`: refused or failed; `interrupted`: a stream cut mid-way. */
    outcome: text("outcome", { enum: ["ok", "error", "interrupted"] }).notNull(),
    errorCode: text("error_code"),
    /** The leaf the node must claim: `relayLeafHash(requestHash, responseHash or final chain)`. */
    leafHash: text("leaf_hash"),
    computeUnits: integer("compute_units").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    images: integer("images").notNull().default(0),
    priceMicroUsd: integer("price_micro_usd").notNull().default(0),
    attempts: integer("attempts").notNull().default(1),
    latencyMs: integer("latency_ms").notNull().default(0),
    /** Time to first token, streams only. */
    ttftMs: integer("ttft_ms"),
    stream: integer("stream", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
  },
  // A leaf is looked up within its session and node, in the read of the session's totals
  // (`proofLedger`, once per proof): no index on `leaf_hash` of its own, which, keyed by a random
  // hash, cost every settlement a page of its own.
  (t) => [
    index("relays_session_node").on(t.sessionId, t.nodeAddress, t.outcome),
    index("relays_key_time").on(t.keyId, t.createdAt),
  ],
);

/**
 * Receipts for streams the gateway cut (`StreamCutReceipt`, signed) that their node has not taken
 * yet: written in the transaction that writes the cut stream's ledger row, deleted once the node
 * answers (settled, or a refusal that sending again would not change) or once the receipt can no
 * longer change the node's claim (`expires_at`: the session's end plus its grace, when the node
 * builds its claim). `next_attempt_at` is when a delivery may next be tried, and while one runs,
 * the end of its lease (replicas on PostgreSQL take a row only when it is due).
 */
export const cutReceipts = sqliteTable(
  "cut_receipts",
  {
    /** The cut relay's request hash (the receipt's `requestHash`). */
    requestHash: text("request_hash").primaryKey(),
    nodeAddress: text("node_address").notNull(),
    sessionId: text("session_id").notNull(),
    /** The signed receipt, as JSON: hashes and counts only. */
    receipt: text("receipt").notNull(),
    expiresAt: integer("expires_at").notNull(),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    /** Deliveries tried and not answered (no answer, `UNKNOWN_RELAY`, `INTERNAL`). */
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("cut_receipts_due").on(t.nextAttemptAt)],
);

/**
 * The applications evaluator probes are sent under (`routing/probe-applications.ts`): kept so a
 * restarted gateway goes on with the same ones, their ages and lifetimes, instead of showing every
 * node a burst of new applications. Addresses only (the key pairs are never needed again);
 * `activity_ppm` is the application's drawn activity in millionths.
 */
export const probeApplications = sqliteTable("probe_applications", {
  address: text("address").primaryKey(),
  bornAt: integer("born_at").notNull(),
  retireAt: integer("retire_at").notNull(),
  activityPpm: integer("activity_ppm").notNull(),
});

// ── settlement ───────────────────────────────────────────────────────────────────────────────
// Claims and proofs from nodes, the weekly POKT/USD rates, and the mint per proven claim. Amounts
// of uPOKT are decimal strings (they can exceed 2^53 over a week).

export const weeklyRates = sqliteTable("weekly_rates", {
  weekId: text("week_id").primaryKey(),
  rateMicroUsdPerPokt: integer("rate_micro_usd_per_pokt").notNull(),
  setAt: integer("set_at").notNull(),
});

export const claims = sqliteTable(
  "claims",
  {
    sessionId: text("session_id").notNull(),
    nodeAddress: text("node_address").notNull(),
    serviceId: text("service_id").notNull(),
    applicationAddress: text("application_address").notNull(),
    sessionNumber: integer("session_number").notNull(),
    sessionEnd: integer("session_end").notNull(),
    root: text("root").notNull(),
    relayCount: integer("relay_count").notNull(),
    computeUnits: text("compute_units").notNull(),
    proofSeed: text("proof_seed").notNull(),
    leafIndex: integer("leaf_index").notNull(),
    status: text("status", { enum: ["claimed", "proven", "rejected"] }).notNull(),
    /** The ISO week the session started in, and that week's rate, pinned when the claim was accepted. */
    weekId: text("week_id").notNull(),
    rateMicroUsdPerPokt: integer("rate_micro_usd_per_pokt").notNull(),
    mintedUpokt: text("minted_upokt").notNull().default("0"),
    /**
     * What a proven claim was paid for: the claim's relays and compute units, at most what this
     * gateway's ledger verified for the node and session (null until settled).
     */
    paidRelays: integer("paid_relays"),
    paidComputeUnits: text("paid_compute_units"),
    detail: text("detail"),
    claimedAt: integer("claimed_at").notNull(),
    /**
     * Time added to the claim's proof window because the gateway was down while it ran (see
     * `settlement/downtime-credit.ts`): the proof is due by `claimedAt + proofWindowMs + this`.
     */
    proofExtensionMs: integer("proof_extension_ms").notNull().default(0),
    settledAt: integer("settled_at"),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.nodeAddress] }),
    index("claims_week").on(t.weekId, t.status),
    // Claims still awaiting their proof, oldest first: what the expiry sweep reads.
    index("claims_open").on(t.status, t.claimedAt),
  ],
);

/**
 * When settlement was last known to run (one row, `id` = 'settlement'), written about every minute
 * by every replica: a gateway that starts after a longer gap was down, and extends the proof
 * windows of the claims that were open by that gap.
 */
export const settlementHeartbeat = sqliteTable("settlement_heartbeat", {
  id: text("id").primaryKey(),
  aliveAt: integer("alive_at").notNull(),
});

export const gatewaySchema = {
  applications,
  apiKeys,
  keyReservations,
  nodes,
  relays,
  cutReceipts,
  probeApplications,
  weeklyRates,
  claims,
  settlementHeartbeat,
};
