import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import type { claims, weeklyRates } from "../db/schema.js";

/**
 * The settlement tables: `claims` (one per node and session, with the seed drawn after it was
 * stored and the rate it pinned) and `weekly_rates`. Shared by every replica on the database: the
 * primary key (session, node) stores a claim once, and a claim is settled by one conditional
 * UPDATE, so it is minted once whichever replica receives the proof.
 */

export type ClaimRow = typeof claims.$inferSelect;
export type NewClaimRow = typeof claims.$inferInsert;

const CLAIM_COLUMNS = sql.raw(`session_id as "sessionId", node_address as "nodeAddress",
  service_id as "serviceId", application_address as "applicationAddress",
  session_number as "sessionNumber", session_end as "sessionEnd", root, relay_count as "relayCount",
  compute_units as "computeUnits", proof_seed as "proofSeed", leaf_index as "leafIndex", status,
  week_id as "weekId", rate_micro_usd_per_pokt as "rateMicroUsdPerPokt", minted_upokt as "mintedUpokt",
  paid_relays as "paidRelays", paid_compute_units as "paidComputeUnits", detail, claimed_at as "claimedAt",
  proof_extension_ms as "proofExtensionMs", settled_at as "settledAt"`);

export function findClaim(
  db: SqlClient,
  sessionId: string,
  nodeAddress: string,
): Promise<ClaimRow | undefined> {
  return db.get<ClaimRow>(
    sql`select ${CLAIM_COLUMNS} from claims where session_id = ${sessionId} and node_address = ${nodeAddress}`,
  );
}

/**
 * Stores a claim unless the node already claimed the session; returns the row stored now — the
 * new one, or the earlier one (compare its seed with yours to tell).
 */
export async function insertClaimOnce(db: SqlClient, row: NewClaimRow): Promise<ClaimRow> {
  await db.run(sql`insert into claims
    (session_id, node_address, service_id, application_address, session_number, session_end, root,
     relay_count, compute_units, proof_seed, leaf_index, status, week_id, rate_micro_usd_per_pokt,
     minted_upokt, detail, claimed_at, settled_at)
    values (${row.sessionId}, ${row.nodeAddress}, ${row.serviceId}, ${row.applicationAddress},
     ${row.sessionNumber}, ${row.sessionEnd}, ${row.root}, ${row.relayCount}, ${row.computeUnits},
     ${row.proofSeed}, ${row.leafIndex}, ${row.status}, ${row.weekId}, ${row.rateMicroUsdPerPokt},
     ${row.mintedUpokt ?? "0"}, ${row.detail ?? null}, ${row.claimedAt}, ${row.settledAt ?? null})
    on conflict (session_id, node_address) do nothing`);
  const stored = await findClaim(db, row.sessionId, row.nodeAddress);
  if (stored === undefined) throw new Error(`claim ${row.sessionId}/${row.nodeAddress} vanished`);
  return stored;
}

/** How a claim is settled: proven with its mint, or rejected with the reason. */
export interface ClaimOutcome {
  readonly status: "proven" | "rejected";
  readonly mintedUpokt: string;
  /** What the mint paid for (a proven claim): at most the ledger's relays and compute units. */
  readonly paid: { readonly relays: number; readonly computeUnits: string } | null;
  readonly detail: string | null;
  readonly settledAt: number;
}

type ClaimKey = { readonly sessionId: string; readonly nodeAddress: string };

/**
 * Settles a claim if it is still `claimed`; returns whether this call settled it (the UPDATE's
 * condition decides: two replicas, or a proof and the expiry, cannot both settle it).
 */
export async function settleOpenClaim(db: SqlClient, key: ClaimKey, outcome: ClaimOutcome): Promise<boolean> {
  const changed =
    await db.run(sql`update claims set status = ${outcome.status}, minted_upokt = ${outcome.mintedUpokt},
      paid_relays = ${outcome.paid?.relays ?? null}, paid_compute_units = ${outcome.paid?.computeUnits ?? null},
      detail = ${outcome.detail}, settled_at = ${outcome.settledAt}
    where session_id = ${key.sessionId} and node_address = ${key.nodeAddress} and status = 'claimed'`);
  return changed === 1;
}

/**
 * Settles a claim that is still `claimed` ({@link settleOpenClaim}); returns the row as stored
 * afterwards, settled by whoever came first.
 */
export async function settleClaim(db: SqlClient, key: ClaimKey, outcome: ClaimOutcome): Promise<ClaimRow> {
  await settleOpenClaim(db, key, outcome);
  const stored = await findClaim(db, key.sessionId, key.nodeAddress);
  if (stored === undefined) throw new Error(`claim ${key.sessionId}/${key.nodeAddress} vanished`);
  return stored;
}

/**
 * Claims still awaiting their proof that were stored before `claimedBefore`, counting the time
 * their proof window was extended by as later (their proof window closed), oldest first, at most
 * `limit` (index `claims_open`).
 */
export function claimsPastProofWindow(
  db: SqlClient,
  claimedBefore: number,
  limit: number,
): Promise<ClaimRow[]> {
  return db.all<ClaimRow>(sql`select ${CLAIM_COLUMNS} from claims
    where status = 'claimed' and claimed_at + proof_extension_ms < ${claimedBefore}
    order by claimed_at, session_id, node_address limit ${limit}`);
}

/** Every claim still awaiting its proof (index `claims_open`). */
export function claimsAwaitingProof(db: SqlClient): Promise<ClaimRow[]> {
  return db.all<ClaimRow>(sql`select ${CLAIM_COLUMNS} from claims where status = 'claimed'
    order by claimed_at, session_id, node_address`);
}

/** Sets how long a claim still awaiting its proof has beyond its proof window. */
export function extendProofWindow(db: SqlClient, key: ClaimKey, extensionMs: number): Promise<number> {
  return db.run(sql`update claims set proof_extension_ms = ${extensionMs}
    where session_id = ${key.sessionId} and node_address = ${key.nodeAddress} and status = 'claimed'`);
}

export function claimsOfWeek(
  db: SqlClient,
  weekId: string,
  status?: ClaimRow["status"],
): Promise<ClaimRow[]> {
  return db.all<ClaimRow>(sql`select ${CLAIM_COLUMNS} from claims where week_id = ${weekId}
    ${status === undefined ? sql`` : sql`and status = ${status}`}
    order by claimed_at, session_id, node_address`);
}

export function latestClaims(db: SqlClient, limit: number, status?: ClaimRow["status"]): Promise<ClaimRow[]> {
  return db.all<ClaimRow>(sql`select ${CLAIM_COLUMNS} from claims
    ${status === undefined ? sql`` : sql`where status = ${status}`}
    order by claimed_at desc, session_id, node_address limit ${limit}`);
}

export type RateRow = typeof weeklyRates.$inferSelect;

const RATE_COLUMNS = sql.raw(
  `week_id as "weekId", rate_micro_usd_per_pokt as "rateMicroUsdPerPokt", set_at as "setAt"`,
);

export function findRate(db: SqlClient, weekId: string): Promise<RateRow | undefined> {
  return db.get<RateRow>(sql`select ${RATE_COLUMNS} from weekly_rates where week_id = ${weekId}`);
}

/**
 * The week's rate, with its row locked until the transaction ends (PostgreSQL; SQLite's write
 * lock is already held): a claim pinning it and a change of it cannot interleave across replicas.
 */
export function lockRate(db: SqlClient, weekId: string): Promise<RateRow | undefined> {
  return db.get<RateRow>(
    sql`update weekly_rates set set_at = set_at where week_id = ${weekId} returning ${RATE_COLUMNS}`,
  );
}

/** How many stored claims pinned a week's rate. */
export async function claimsPinning(db: SqlClient, weekId: string): Promise<number> {
  const row = await db.get<{ n: number }>(
    sql`select cast(count(*) as bigint) as "n" from claims where week_id = ${weekId}`,
  );
  return Number(row?.n ?? 0);
}

/**
 * Writes a week's rate unless the week has one, and returns whether it did. On PostgreSQL an insert
 * that meets another transaction's uncommitted row for the week waits for it: so the row exists,
 * and can be locked, before anything is decided about it.
 */
export async function insertRateOnce(db: SqlClient, row: RateRow): Promise<boolean> {
  const changed = await db.run(sql`insert into weekly_rates (week_id, rate_micro_usd_per_pokt, set_at)
    values (${row.weekId}, ${row.rateMicroUsdPerPokt}, ${row.setAt})
    on conflict (week_id) do nothing`);
  return changed > 0;
}

export function upsertRate(db: SqlClient, row: RateRow): Promise<number> {
  return db.run(sql`insert into weekly_rates (week_id, rate_micro_usd_per_pokt, set_at)
    values (${row.weekId}, ${row.rateMicroUsdPerPokt}, ${row.setAt})
    on conflict (week_id) do update set rate_micro_usd_per_pokt = excluded.rate_micro_usd_per_pokt,
      set_at = excluded.set_at`);
}

/** Every rate, newest week first, with the number of claims that pinned it. */
export async function listRateRows(db: SqlClient): Promise<Array<RateRow & { claims: number }>> {
  const rows = await db.all<RateRow & { claims: number }>(sql`select ${RATE_COLUMNS},
      (select cast(count(*) as bigint) from claims c where c.week_id = weekly_rates.week_id) as "claims"
    from weekly_rates order by week_id desc`);
  return rows.map((r) => ({ ...r, claims: Number(r.claims) }));
}
