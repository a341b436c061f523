import { and, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";
import { relays } from "../db/schema.js";

const DAY_MS = 86_400_000;

/** The sums every usage and traffic report groups the relay ledger by (counts, never text). */
export const relayTotals = {
  requests: sql<number>`count(*)`,
  failed: sql<number>`coalesce(sum(${relays.outcome} <> 'ok'), 0)`,
  inputTokens: sql<number>`coalesce(sum(${relays.inputTokens}), 0)`,
  outputTokens: sql<number>`coalesce(sum(${relays.outputTokens}), 0)`,
  images: sql<number>`coalesce(sum(${relays.images}), 0)`,
  spentMicroUsd: sql<number>`coalesce(sum(${relays.priceMicroUsd}), 0)`,
};

export interface UsageFilter {
  readonly applicationId?: string | undefined;
  readonly keyId?: string | undefined;
  /** Inclusive start, epoch ms (default: 30 days before `to`). */
  readonly from?: number | undefined;
  /** Exclusive end, epoch ms (default: now). */
  readonly to?: number | undefined;
}

/** Usage of one key for one service on one UTC day. */
export interface UsageRow {
  readonly day: string;
  readonly applicationId: string;
  readonly keyId: string;
  readonly serviceId: string;
  readonly requests: number;
  readonly failed: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly images: number;
  readonly spentMicroUsd: number;
}

/**
 * Per key, application, service and UTC day: requests (all, and how many failed or were cut),
 * tokens, images and micro-USD charged. Read from the relay rows, so it sees what the metering
 * writer has flushed.
 */
export function usageReport(db: GatewayDb, filter: UsageFilter, now: number): UsageRow[] {
  const to = filter.to ?? now;
  const from = filter.from ?? to - 30 * DAY_MS;
  const conditions: SQL[] = [gte(relays.createdAt, from), lt(relays.createdAt, to)];
  if (filter.applicationId !== undefined) conditions.push(eq(relays.applicationId, filter.applicationId));
  if (filter.keyId !== undefined) conditions.push(eq(relays.keyId, filter.keyId));
  // A literal, not a bound parameter: better-sqlite3 binds numbers as REAL, which would make the
  // division fractional and every row its own day.
  const day = sql<number>`(${relays.createdAt} / ${sql.raw(String(DAY_MS))})`;
  const rows = db
    .select({
      day,
      applicationId: relays.applicationId,
      keyId: relays.keyId,
      serviceId: relays.serviceId,
      ...relayTotals,
    })
    .from(relays)
    .where(and(...conditions))
    .groupBy(day, relays.applicationId, relays.keyId, relays.serviceId)
    .orderBy(day, relays.applicationId, relays.keyId, relays.serviceId)
    .all();
  return rows.map((row) => ({
    ...row,
    day: new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10),
  }));
}
