import { and, eq, ne, sql } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";
import { apiKeys, relays } from "../db/schema.js";

/** A relay's ledger row, written in the transaction that charges it (see {@link settleBudget}). */
export type LedgerRow = typeof relays.$inferInsert;

/**
 * The persistent half of the limits: each key's `spent` and `reserved` micro-USD. Every change is
 * a single SQL statement, so it is atomic even between processes sharing the file; the reserve
 * statement carries its own condition, so no caller can check, yield, and then overspend.
 */

/** Adds `cost` to `reserved` only if the key is active and `spent + reserved + cost <= budget`. */
export function reserveBudget(db: GatewayDb, keyId: string, cost: number): boolean {
  return (
    db
      .update(apiKeys)
      .set({ reservedMicroUsd: sql`${apiKeys.reservedMicroUsd} + ${cost}` })
      .where(
        and(
          eq(apiKeys.id, keyId),
          eq(apiKeys.status, "active"),
          sql`(${apiKeys.budgetMicroUsd} IS NULL OR ${apiKeys.spentMicroUsd} + ${apiKeys.reservedMicroUsd} + ${cost} <= ${apiKeys.budgetMicroUsd})`,
        ),
      )
      .run().changes === 1
  );
}

/**
 * Moves a reservation to `spent` and counts the relay. The charge is the actual cost, capped so
 * that `spent` never passes the budget (a reservation is the tier's price for the largest request,
 * so the cap only bites if a node reports more work than was reserved). Returns what was charged.
 *
 * With `ledger`, the relay's row (built from the charge) is inserted in the SAME transaction: a
 * charge never exists without its ledger row, nor a row without its charge, whenever the process
 * dies. A row already in the ledger (same request hash) makes the whole settlement a no-op, so a
 * relay is charged at most once.
 */
export function settleBudget(
  db: GatewayDb,
  settled: { keyId: string; reserved: number; actual: number; requests: number; tokens: number; now: number },
  ledger?: (charged: number) => LedgerRow,
): number {
  const { keyId, reserved, actual } = settled;
  const charge = sql`CASE WHEN ${apiKeys.budgetMicroUsd} IS NULL THEN ${actual}
    ELSE MIN(${actual}, MAX(0, ${apiKeys.budgetMicroUsd} - ${apiKeys.spentMicroUsd} - ${apiKeys.reservedMicroUsd} + ${reserved})) END`;
  // The read and the write run in one IMMEDIATE transaction (synchronous: nothing else runs in
  // between); the read only reports the charge, the UPDATE alone moves the money.
  return db.transaction(
    (tx) => {
      const before = tx
        .select({ spent: apiKeys.spentMicroUsd })
        .from(apiKeys)
        .where(eq(apiKeys.id, keyId))
        .get();
      const after = tx
        .update(apiKeys)
        .set({
          reservedMicroUsd: sql`${apiKeys.reservedMicroUsd} - ${reserved}`,
          spentMicroUsd: sql`${apiKeys.spentMicroUsd} + ${charge}`,
          requests: sql`${apiKeys.requests} + ${settled.requests}`,
          tokens: sql`${apiKeys.tokens} + ${settled.tokens}`,
          lastUsedAt: settled.now,
        })
        .where(eq(apiKeys.id, keyId))
        .returning({ spent: apiKeys.spentMicroUsd })
        .get();
      const charged = before === undefined || after === undefined ? 0 : after.spent - before.spent;
      if (ledger !== undefined) {
        const inserted = tx.insert(relays).values(ledger(charged)).onConflictDoNothing().run();
        // Throwing rolls the charge back with the row: a duplicate relay is never charged twice.
        if (inserted.changes !== 1) throw new DuplicateLedgerRow();
      }
      return charged;
    },
    { behavior: "immediate" },
  );
}

/** Gives a reservation back: nothing is charged. */
export function releaseBudget(db: GatewayDb, keyId: string, reserved: number): void {
  db.update(apiKeys)
    .set({ reservedMicroUsd: sql`${apiKeys.reservedMicroUsd} - ${reserved}` })
    .where(eq(apiKeys.id, keyId))
    .run();
}

/**
 * At start-up no relay is in flight, so any reservation left in the file is from a crash: give it
 * all back. Assumes one gateway process per database file (SQLite is a single-host store anyway).
 */
export function releaseStaleReservations(db: GatewayDb): number {
  return db.update(apiKeys).set({ reservedMicroUsd: 0 }).where(ne(apiKeys.reservedMicroUsd, 0)).run().changes;
}

/** The relay's row was already in the ledger; its settlement was rolled back. */
export class DuplicateLedgerRow extends Error {
  constructor() {
    super("the relay is already in the ledger");
  }
}
