import { and, count, desc, eq, sql } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";
import { claims, weeklyRates } from "../db/schema.js";

/**
 * The settlement tables: `claims` (one per node and session, with the seed drawn after it was
 * stored and the rate it pinned) and `weekly_rates`. Synchronous: call inside `statementRunner`.
 */

export type ClaimRow = typeof claims.$inferSelect;
export type NewClaimRow = typeof claims.$inferInsert;

export function findClaim(db: GatewayDb, sessionId: string, nodeAddress: string): ClaimRow | undefined {
  return db
    .select()
    .from(claims)
    .where(and(eq(claims.sessionId, sessionId), eq(claims.nodeAddress, nodeAddress)))
    .get();
}

/**
 * Stores a claim unless the node already claimed the session; returns the row stored now — the
 * new one, or the earlier one (compare its seed with yours to tell). One synchronous call.
 */
export function insertClaimOnce(db: GatewayDb, row: NewClaimRow): ClaimRow {
  db.insert(claims).values(row).onConflictDoNothing().run();
  const stored = findClaim(db, row.sessionId, row.nodeAddress);
  if (stored === undefined) throw new Error(`claim ${row.sessionId}/${row.nodeAddress} vanished`);
  return stored;
}

/**
 * Settles a claim that is still `claimed`; returns the row as stored afterwards, settled by
 * whoever came first. One synchronous call: no other statement runs between the two.
 */
export function settleClaim(
  db: GatewayDb,
  key: { readonly sessionId: string; readonly nodeAddress: string },
  outcome: { status: "proven" | "rejected"; mintedUpokt: string; detail: string | null; settledAt: number },
): ClaimRow {
  db.update(claims)
    .set(outcome)
    .where(
      and(
        eq(claims.sessionId, key.sessionId),
        eq(claims.nodeAddress, key.nodeAddress),
        eq(claims.status, "claimed"),
      ),
    )
    .run();
  const stored = findClaim(db, key.sessionId, key.nodeAddress);
  if (stored === undefined) throw new Error(`claim ${key.sessionId}/${key.nodeAddress} vanished`);
  return stored;
}

export function claimsOfWeek(db: GatewayDb, weekId: string, status?: ClaimRow["status"]): ClaimRow[] {
  return db
    .select()
    .from(claims)
    .where(
      status === undefined
        ? eq(claims.weekId, weekId)
        : and(eq(claims.weekId, weekId), eq(claims.status, status)),
    )
    .orderBy(claims.claimedAt, claims.sessionId, claims.nodeAddress)
    .all();
}

export function latestClaims(db: GatewayDb, limit: number, status?: ClaimRow["status"]): ClaimRow[] {
  return db
    .select()
    .from(claims)
    .where(status === undefined ? undefined : eq(claims.status, status))
    .orderBy(desc(claims.claimedAt), claims.sessionId, claims.nodeAddress)
    .limit(limit)
    .all();
}

export type RateRow = typeof weeklyRates.$inferSelect;

export function findRate(db: GatewayDb, weekId: string): RateRow | undefined {
  return db.select().from(weeklyRates).where(eq(weeklyRates.weekId, weekId)).get();
}

/** How many stored claims pinned a week's rate. */
export function claimsPinning(db: GatewayDb, weekId: string): number {
  return db.select({ n: count() }).from(claims).where(eq(claims.weekId, weekId)).get()?.n ?? 0;
}

export function upsertRate(db: GatewayDb, row: RateRow): void {
  db.insert(weeklyRates)
    .values(row)
    .onConflictDoUpdate({
      target: weeklyRates.weekId,
      set: { rateMicroUsdPerPokt: row.rateMicroUsdPerPokt, setAt: row.setAt },
    })
    .run();
}

/** Every rate, newest week first, with the number of claims that pinned it. */
export function listRateRows(db: GatewayDb): Array<RateRow & { claims: number }> {
  return db
    .select({
      weekId: weeklyRates.weekId,
      rateMicroUsdPerPokt: weeklyRates.rateMicroUsdPerPokt,
      setAt: weeklyRates.setAt,
      claims: sql<number>`(select count(*) from ${claims} where ${claims.weekId} = ${weeklyRates.weekId})`,
    })
    .from(weeklyRates)
    .orderBy(desc(weeklyRates.weekId))
    .all();
}
