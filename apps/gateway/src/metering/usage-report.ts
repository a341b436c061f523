import type { SqlClient } from "@pocket-ai/runtime";
import { type SQL, sql } from "drizzle-orm";

const DAY_MS = 86_400_000;

/** The sums every usage and traffic report groups the relay ledger by (counts, never text). */
export const RELAY_TOTALS = sql.raw(`cast(count(*) as bigint) as "requests",
  cast(coalesce(sum(case when outcome <> 'ok' then 1 else 0 end), 0) as bigint) as "failed",
  cast(coalesce(sum(input_tokens), 0) as bigint) as "inputTokens",
  cast(coalesce(sum(output_tokens), 0) as bigint) as "outputTokens",
  cast(coalesce(sum(images), 0) as bigint) as "images",
  cast(coalesce(sum(price_micro_usd), 0) as bigint) as "spentMicroUsd"`);

/**
 * The service and tier a relay row was sold as: its `sold_*` columns, or the served pair where they
 * are empty (rows written before the columns existed, or by a replica not yet upgraded).
 */
export const SOLD_SERVICE = sql.raw(`coalesce(nullif(sold_service_id, ''), service_id)`);
export const SOLD_TIER = sql.raw(`coalesce(nullif(sold_tier, ''), tier)`);

/** The totals {@link RELAY_TOTALS} selects. */
export interface RelayTotals {
  readonly requests: number;
  readonly failed: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly images: number;
  readonly spentMicroUsd: number;
}

/** The UTC day of a relay row, as a whole number of days since the epoch (a literal divisor: integer division on both dialects). */
export const RELAY_DAY = sql.raw(`(created_at / ${DAY_MS})`);

export interface UsageFilter {
  readonly applicationId?: string | undefined;
  readonly keyId?: string | undefined;
  /** Inclusive start, epoch ms (default: 30 days before `to`). */
  readonly from?: number | undefined;
  /** Exclusive end, epoch ms (default: now). */
  readonly to?: number | undefined;
}

/** Usage of one key for one service (the one it bought: a quality service, not the model that served it) on one UTC day. */
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
export async function usageReport(db: SqlClient, filter: UsageFilter, now: number): Promise<UsageRow[]> {
  const to = filter.to ?? now;
  const from = filter.from ?? to - 30 * DAY_MS;
  const conditions: SQL[] = [sql`created_at >= ${from}`, sql`created_at < ${to}`];
  if (filter.applicationId !== undefined) conditions.push(sql`application_id = ${filter.applicationId}`);
  if (filter.keyId !== undefined) conditions.push(sql`key_id = ${filter.keyId}`);
  const rows = await db.all<
    RelayTotals & { day: number; applicationId: string; keyId: string; serviceId: string }
  >(sql`
    select ${RELAY_DAY} as "day", application_id as "applicationId", key_id as "keyId",
           ${SOLD_SERVICE} as "serviceId", ${RELAY_TOTALS}
    from relays where ${sql.join(conditions, sql` and `)}
    group by ${RELAY_DAY}, application_id, key_id, ${SOLD_SERVICE}
    order by ${RELAY_DAY}, application_id, key_id, ${SOLD_SERVICE}`);
  return rows.map((row) => ({
    ...row,
    day: new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10),
  }));
}
