import { z } from "zod";
import { fail, ok, type Result } from "../errors/index.js";

const DAY_MS = 86_400_000;

/**
 * The ISO 8601 week (Monday to Sunday, UTC) containing a Unix time in ms, as `"YYYY-Www"`. The
 * ISO year is the year of the week's Thursday, so 2026-12-31 is in `"2026-W53"` and 2027-01-01 too.
 *
 * @example
 * ```ts
 * weekIdOf(Date.UTC(2026, 10, 26)); // "2026-W48"
 * ```
 */
export function weekIdOf(timeMs: number): string {
  if (!Number.isFinite(timeMs)) throw new RangeError(`weekIdOf: ${timeMs} is not a time`);
  const day = Math.floor(timeMs / DAY_MS); // days since 1970-01-01, a Thursday
  const weekday = (((day + 3) % 7) + 7) % 7; // Monday = 0
  const thursday = new Date((day - weekday + 3) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const ordinal = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS); // 0-based
  const week = Math.floor(ordinal / 7) + 1;
  return `${String(year).padStart(4, "0")}-W${String(week).padStart(2, "0")}`;
}

/**
 * The first instant (Monday 00:00 UTC, Unix ms) of an ISO week id. Throws `RangeError` for a
 * malformed id or a week the year does not have (`"2025-W53"`).
 *
 * @example
 * ```ts
 * new Date(weekStartMs("2026-W48")).toISOString(); // "2026-11-23T00:00:00.000Z"
 * ```
 */
export function weekStartMs(weekId: string): number {
  const m = /^([0-9]{4})-W([0-9]{2})$/.exec(weekId);
  if (m === null) throw new RangeError(`weekStartMs: "${weekId}" is not an ISO week id like 2026-W48`);
  const year = Number(m[1]);
  const week = Number(m[2]);
  const jan4 = Date.UTC(year, 0, 4);
  const jan4Weekday = (new Date(jan4).getUTCDay() + 6) % 7;
  const start = jan4 - jan4Weekday * DAY_MS + (week - 1) * 7 * DAY_MS;
  if (week < 1 || weekIdOf(start) !== weekId) throw new RangeError(`weekStartMs: ${weekId} does not exist`);
  return start;
}

const weekIdSchema = z.string().refine((id) => {
  try {
    weekStartMs(id);
    return true;
  } catch {
    return false;
  }
}, "expected an existing ISO week id like 2026-W48");

/**
 * The POKT price set for one ISO week: µUSD per POKT ($0.25 = 250,000). Fiat prices convert to
 * uPOKT at this rate for every session that starts in that week.
 *
 * @example
 * ```ts
 * WeeklyRate.parse({ weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 });
 * ```
 */
export const WeeklyRate = z.strictObject({
  weekId: weekIdSchema,
  rateMicroUsdPerPokt: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

/**
 * A parsed {@link WeeklyRate}.
 *
 * @example
 * ```ts
 * const rate: WeeklyRate = { weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 };
 * ```
 */
export type WeeklyRate = z.infer<typeof WeeklyRate>;

/**
 * The rate of a week from a list, or `RATE_NOT_SET` when the admin has not set one.
 *
 * @example
 * ```ts
 * findWeeklyRate(rates, weekIdOf(Date.now())); // { ok: true, value: { weekId, rateMicroUsdPerPokt } }
 * ```
 */
export function findWeeklyRate(rates: readonly WeeklyRate[], weekId: string): Result<WeeklyRate> {
  const rate = rates.find((r) => r.weekId === weekId);
  return rate === undefined ? fail("RATE_NOT_SET", `no POKT rate for week ${weekId}`, "weekId") : ok(rate);
}
