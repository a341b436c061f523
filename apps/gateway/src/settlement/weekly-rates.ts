import { Clock, Effect } from "effect";
import {
  claimsPinning,
  insertRateOnce,
  listRateRows,
  lockRate,
  type RateRow,
  upsertRate,
} from "./claim-store.js";
import { InvalidSettlementInput, RatePinned } from "./errors.js";
import { MAX_RATE_MICRO_USD_PER_POKT, WeeklyRateInput } from "./settlement-config.js";
import type { SettlementDeps } from "./settlement-deps.js";
import { weekFinality } from "./settlement-tally.js";
import { formatUsd } from "./usd-amount.js";

/** A week's POKT price as the admin API shows it. */
export interface WeeklyRateRecord {
  readonly weekId: string;
  readonly rateMicroUsdPerPokt: number;
  /** The same rate in dollars, e.g. "0.25". */
  readonly usdPerPokt: string;
  readonly setAt: number;
  /** Stored claims that pinned this rate; once there is one, the rate is final. */
  readonly claims: number;
}

const recordOf = (row: RateRow, claims: number): WeeklyRateRecord => ({
  weekId: row.weekId,
  rateMicroUsdPerPokt: row.rateMicroUsdPerPokt,
  usdPerPokt: formatUsd(row.rateMicroUsdPerPokt),
  setAt: row.setAt,
  claims,
});

export function makeWeeklyRates(deps: SettlementDeps) {
  const { use } = deps;
  /**
   * Sets the POKT rate (µUSD per POKT) of an ISO week. Setting the same rate again is a no-op;
   * changing it is refused once a claim pinned it (that claim's mint was promised at that rate),
   * and once the week is final (a change would reopen its claim window, see `weekFinality`).
   */
  const setWeeklyRate = Effect.fn("Settlement.setWeeklyRate")(function* (
    weekId: string,
    rateMicroUsdPerPokt: number,
  ) {
    const parsed = WeeklyRateInput.safeParse({ weekId, rateMicroUsdPerPokt });
    if (!parsed.success) {
      return yield* new InvalidSettlementInput({
        detail: `a weekly rate needs an ISO week id like 2026-W48 and a whole number of µUSD per POKT from 1 to ${MAX_RATE_MICRO_USD_PER_POKT}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
      });
    }
    const setAt = yield* Clock.currentTimeMillis;
    // One transaction holding the rate's row lock: a claim pinning the rate on another replica
    // waits for it (see the claim intake), so a pinned rate never changes under a claim. The row
    // is written first when the week has none, so that there is always a row to lock: two first
    // `rates set` on two replicas never both find none and the later one overwrite a rate a claim
    // pinned in between.
    type Outcome =
      | { record: WeeklyRateRecord; pinned?: undefined; finalAt?: undefined }
      | { pinned: { existing: RateRow; claims: number }; finalAt?: undefined }
      | { finalAt: number; pinned?: undefined };
    const outcome = yield* use("weeklyRates.set", (db) =>
      db.transaction(async (tx): Promise<Outcome> => {
        const row = { weekId, rateMicroUsdPerPokt, setAt };
        if (await insertRateOnce(tx, row)) return { record: recordOf(row, await claimsPinning(tx, weekId)) };
        const existing = await lockRate(tx, weekId);
        const claims = await claimsPinning(tx, weekId);
        if (existing !== undefined && existing.rateMicroUsdPerPokt === rateMicroUsdPerPokt) {
          return { record: recordOf(existing, claims) };
        }
        if (existing !== undefined && claims > 0) return { pinned: { existing, claims } };
        const finality = existing === undefined ? undefined : weekFinality(weekId, existing, deps, setAt);
        if (finality?.final === true && finality.finalAt !== null) return { finalAt: finality.finalAt };
        await upsertRate(tx, row);
        return { record: recordOf(row, claims) };
      }),
    );
    if (outcome.finalAt !== undefined) {
      return yield* new InvalidSettlementInput({
        detail: `${weekId} is final since ${new Date(outcome.finalAt).toISOString()} (no claim of it can come any more): its rate no longer changes`,
      });
    }
    if (outcome.pinned !== undefined) {
      return yield* new RatePinned({
        weekId,
        rateMicroUsdPerPokt: outcome.pinned.existing.rateMicroUsdPerPokt,
        claims: outcome.pinned.claims,
      });
    }
    return outcome.record;
  });

  const listRates = Effect.fn("Settlement.listRates")(function* () {
    const rows = yield* use("weeklyRates.list", listRateRows);
    return rows.map((r): WeeklyRateRecord => recordOf(r, r.claims));
  });

  return { setWeeklyRate, listRates };
}
