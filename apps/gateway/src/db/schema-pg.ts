import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * The same tables as `schema.ts` (SQLite) and `portal/portal-schema.ts`, in PostgreSQL's dialect
 * (plus `gateway_replicas`, which only replicas need):
 * what `drizzle/pg/` migrates a PostgreSQL database to. Queries are written once (see
 * `db/gateway-store.ts`); only the column types differ: integers that hold money, times or counts
 * are BIGINT, and `seq` keeps the order rows were made in (SQLite's `rowid`).
 */
const big = (name: string) => bigint(name, { mode: "number" });

export const applications = pgTable("applications", {
  id: text("id").primaryKey(),
  seq: big("seq").generatedAlwaysAsIdentity(),
  name: text("name").notNull(),
  operator: text("operator"),
  address: text("address").notNull().unique(),
  status: text("status").notNull(),
  createdAt: big("created_at").notNull(),
  disabledAt: big("disabled_at"),
  /** 1: organic checks may sample this application's completions; 0: never (see schema.ts). */
  organicChecks: integer("organic_checks").notNull().default(1),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    seq: big("seq").generatedAlwaysAsIdentity(),
    applicationId: text("application_id")
      .notNull()
      .references(() => applications.id),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    status: text("status").notNull(),
    rpm: big("rpm"),
    tpm: big("tpm"),
    budgetMicroUsd: big("budget_micro_usd"),
    spentMicroUsd: big("spent_micro_usd").notNull().default(0),
    reservedMicroUsd: big("reserved_micro_usd").notNull().default(0),
    requests: big("requests").notNull().default(0),
    tokens: big("tokens").notNull().default(0),
    createdAt: big("created_at").notNull(),
    revokedAt: big("revoked_at"),
    lastUsedAt: big("last_used_at"),
    role: text("role").notNull().default("application"),
  },
  (t) => [
    index("api_keys_application").on(t.applicationId),
    check("api_keys_reserved_nonnegative", sql`${t.reservedMicroUsd} >= 0`),
  ],
);

export const keyReservations = pgTable(
  "key_reservations",
  {
    id: text("id").primaryKey(),
    keyId: text("key_id").notNull(),
    at: big("at").notNull(),
    requests: big("requests").notNull(),
    tokens: big("tokens").notNull(),
    heldMicroUsd: big("held_micro_usd").notNull(),
    /** 1 while the relay runs (the hold counts in `reserved_micro_usd`); 0 once settled or released. */
    open: integer("open").notNull(),
  },
  // No index on `at` alone: the sweep, its only reader, reads old rows through the primary key,
  // whose ids start with their time (see `releaseStaleReservations`), and each reservation and
  // settlement writes one index less.
  (t) => [index("key_reservations_key_at").on(t.keyId, t.at)],
);

/** Each key's rate window in 1 s buckets (see the SQLite schema). */
export const keyRateBuckets = pgTable(
  "key_rate_buckets",
  {
    keyId: text("key_id").notNull(),
    second: big("second").notNull(),
    requests: big("requests").notNull(),
    tokens: big("tokens").notNull(),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.second] }), index("key_rate_buckets_second").on(t.second)],
);

export const nodes = pgTable(
  "nodes",
  {
    address: text("address").primaryKey(),
    publicKey: text("public_key").notNull(),
    endpoint: text("endpoint").notNull(),
    operator: text("operator"),
    announcement: text("announcement").notNull(),
    registeredAt: big("registered_at").notNull(),
    lastAnnouncedAt: big("last_announced_at").notNull(),
    status: text("status").notNull().default("active"),
    arrivedFrom: text("arrived_from"),
    arrivedAt: big("arrived_at"),
  },
  (t) => [
    index("nodes_last_announced").on(t.lastAnnouncedAt),
    index("nodes_arrivals").on(t.arrivedFrom, t.arrivedAt),
  ],
);

export const relays = pgTable(
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
    sessionNumber: big("session_number").notNull(),
    outcome: text("outcome").notNull(),
    errorCode: text("error_code"),
    leafHash: text("leaf_hash"),
    computeUnits: big("compute_units").notNull().default(0),
    inputTokens: big("input_tokens").notNull().default(0),
    outputTokens: big("output_tokens").notNull().default(0),
    images: big("images").notNull().default(0),
    priceMicroUsd: big("price_micro_usd").notNull().default(0),
    attempts: integer("attempts").notNull().default(1),
    latencyMs: big("latency_ms").notNull().default(0),
    ttftMs: big("ttft_ms"),
    stream: boolean("stream").notNull().default(false),
    createdAt: big("created_at").notNull(),
  },
  // A leaf is looked up within its session and node, in the read of the session's totals
  // (`proofLedger`, once per proof): no index on `leaf_hash` of its own, which, keyed by a random
  // hash, cost every settlement a page of its own.
  (t) => [
    index("relays_session_node").on(t.sessionId, t.nodeAddress, t.outcome),
    index("relays_key_time").on(t.keyId, t.createdAt),
    index("relays_time").on(t.createdAt),
  ],
);

/** Receipts for cut streams still to deliver to their node (see schema.ts). */
export const cutReceipts = pgTable(
  "cut_receipts",
  {
    requestHash: text("request_hash").primaryKey(),
    nodeAddress: text("node_address").notNull(),
    sessionId: text("session_id").notNull(),
    receipt: text("receipt").notNull(),
    expiresAt: big("expires_at").notNull(),
    nextAttemptAt: big("next_attempt_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    createdAt: big("created_at").notNull(),
  },
  (t) => [index("cut_receipts_due").on(t.nextAttemptAt)],
);

/** The applications evaluator probes are sent under (see schema.ts). */
export const probeApplications = pgTable("probe_applications", {
  address: text("address").primaryKey(),
  bornAt: big("born_at").notNull(),
  retireAt: big("retire_at").notNull(),
  activityPpm: big("activity_ppm").notNull(),
});

export const weeklyRates = pgTable("weekly_rates", {
  weekId: text("week_id").primaryKey(),
  rateMicroUsdPerPokt: big("rate_micro_usd_per_pokt").notNull(),
  setAt: big("set_at").notNull(),
});

export const claims = pgTable(
  "claims",
  {
    sessionId: text("session_id").notNull(),
    nodeAddress: text("node_address").notNull(),
    serviceId: text("service_id").notNull(),
    applicationAddress: text("application_address").notNull(),
    sessionNumber: big("session_number").notNull(),
    sessionEnd: big("session_end").notNull(),
    root: text("root").notNull(),
    relayCount: big("relay_count").notNull(),
    computeUnits: text("compute_units").notNull(),
    proofSeed: text("proof_seed").notNull(),
    leafIndex: big("leaf_index").notNull(),
    status: text("status").notNull(),
    weekId: text("week_id").notNull(),
    rateMicroUsdPerPokt: big("rate_micro_usd_per_pokt").notNull(),
    mintedUpokt: text("minted_upokt").notNull().default("0"),
    /** What a proven claim was paid for, at most the ledger's count (null until settled). */
    paidRelays: big("paid_relays"),
    paidComputeUnits: text("paid_compute_units"),
    detail: text("detail"),
    claimedAt: big("claimed_at").notNull(),
    /** Time added to the proof window for gateway downtime (see `schema.ts`). */
    proofExtensionMs: big("proof_extension_ms").notNull().default(0),
    settledAt: big("settled_at"),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.nodeAddress] }),
    index("claims_week").on(t.weekId, t.status),
    // Claims still awaiting their proof, oldest first: what the expiry sweep reads.
    index("claims_open").on(t.status, t.claimedAt),
  ],
);

/** When settlement was last known to run (see `schema.ts`). */
export const settlementHeartbeat = pgTable("settlement_heartbeat", {
  id: text("id").primaryKey(),
  aliveAt: big("alive_at").notNull(),
});

export const portalUsers = pgTable(
  "portal_users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role").notNull().default("customer"),
    applicationId: text("application_id").notNull(),
    signupNetwork: text("signup_network").notNull(),
    createdAt: big("created_at").notNull(),
    lastLoginAt: big("last_login_at"),
  },
  (t) => [
    uniqueIndex("portal_users_email_unique").on(t.email),
    index("portal_users_signup").on(t.signupNetwork, t.createdAt),
    index("portal_users_created").on(t.createdAt),
  ],
);

export const portalSessions = pgTable(
  "portal_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id").notNull(),
    createdAt: big("created_at").notNull(),
    expiresAt: big("expires_at").notNull(),
  },
  (t) => [index("portal_sessions_user").on(t.userId)],
);

export const portalLoginFailures = pgTable(
  "portal_login_failures",
  {
    subject: text("subject").notNull(),
    at: big("at").notNull(),
  },
  (t) => [
    index("portal_login_failures_subject").on(t.subject, t.at),
    index("portal_login_failures_at").on(t.at),
  ],
);

export const portalBudgetGrants = pgTable(
  "portal_budget_grants",
  {
    at: big("at").notNull(),
    microUsd: big("micro_usd").notNull(),
  },
  (t) => [index("portal_budget_grants_at").on(t.at)],
);

/**
 * PostgreSQL only (a SQLite gateway is one process): the replicas sharing this database, each
 * with the address its peers reach it at, so an image URL made by one is served by all (see
 * `replicas/replica-directory.ts`). A replica writes its row at start, refreshes `last_seen_at`
 * while it runs and deletes the row when it stops; image bytes never come here.
 */
export const gatewayReplicas = pgTable("gateway_replicas", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  startedAt: big("started_at").notNull(),
  lastSeenAt: big("last_seen_at").notNull(),
});
