import { Clock, Context, Effect, Layer } from "effect";
import { GatewayStore, storeRunner } from "../db/database.js";
import { claimExpiryLoop, makeExpireClaims } from "./claim-expiry.js";
import { makeSubmitClaim } from "./claim-intake.js";
import { type ClaimRecord, toClaimRecord } from "./claim-record.js";
import { claimsOfWeek, latestClaims } from "./claim-store.js";
import { makeCreditDowntime, writeHeartbeat } from "./downtime-credit.js";
import { InvalidSettlementInput } from "./errors.js";
import { makeSubmitProof } from "./proof-intake.js";
import { SettlementConfig, SettlementIdentity } from "./settlement-config.js";
import type { SettlementDeps } from "./settlement-deps.js";
import { makeWeeklyTally } from "./settlement-tally.js";
import { formatTally, REPORT_FORMATS, type ReportFormat } from "./tally-report.js";
import { makeWeeklyRates } from "./weekly-rates.js";

/** Which claims `listClaims` returns (at most `limit`, default 100). */
export interface ClaimFilter {
  readonly weekId?: string | undefined;
  readonly status?: ClaimRecord["status"] | undefined;
  readonly limit?: number | undefined;
}

const make = Effect.gen(function* () {
  const store = yield* GatewayStore;
  const identity = yield* SettlementIdentity;
  const config = yield* SettlementConfig;
  const session = identity.session;
  if (session.mode !== "time") {
    return yield* Effect.dieMessage(
      "settlement needs time-based sessions: claim windows and weeks are measured in Unix milliseconds",
    );
  }
  const deps: SettlementDeps = {
    use: storeRunner(store),
    identity: { ...identity, session },
    config,
  };
  // Before any proof is checked or claim expired: the windows the gateway's downtime cost back.
  const down = yield* makeCreditDowntime(deps)(yield* Clock.currentTimeMillis);
  if (down > 0) {
    yield* Effect.logWarning(
      "settlement was down: the proof windows of the claims open then are extended by as long",
    ).pipe(Effect.annotateLogs({ downMs: down }));
  }
  const expireClaims = makeExpireClaims(deps);
  const weeklyTally = makeWeeklyTally(deps, expireClaims);
  const { setWeeklyRate, listRates } = makeWeeklyRates(deps);

  return {
    submitClaim: makeSubmitClaim(deps),
    submitProof: makeSubmitProof(deps),
    setWeeklyRate,
    listRates,
    weeklyTally,
    expireClaims,
    /** Records that settlement runs now (see `downtime-credit.ts`). */
    heartbeat: Effect.fn("Settlement.heartbeat")(function* (now: number) {
      yield* deps.use("settlement.heartbeat", (db) => writeHeartbeat(db, now));
    }),

    /** The week's tally as CSV (a header row, one row per operator and service) or JSON. */
    report: Effect.fn("Settlement.report")(function* (weekId: string, format: ReportFormat) {
      if (!REPORT_FORMATS.includes(format)) {
        return yield* new InvalidSettlementInput({
          detail: `report format must be csv or json, not ${format}`,
        });
      }
      return formatTally(yield* weeklyTally(weekId), format);
    }),

    /** Claims of one week in the order they came, or the latest ones; optionally of one status. */
    listClaims: Effect.fn("Settlement.listClaims")(function* (filter: ClaimFilter = {}) {
      const limit = filter.limit ?? 100;
      const rows = yield* deps.use("claims.list", async (db) =>
        filter.weekId === undefined
          ? latestClaims(db, limit, filter.status)
          : (await claimsOfWeek(db, filter.weekId, filter.status)).slice(0, limit),
      );
      return rows.map((r) => toClaimRecord(r, config.proofWindowMs));
    }),
  };
});

/**
 * Settlement at the gateway: nodes' claims and proofs checked against the gateway's own relay
 * ledger, the mint of each proven claim at its week's pinned POKT rate, and the weekly tally in
 * which the portal operator is charged what was minted and the charge is burned.
 */
export class Settlement extends Context.Tag("gateway/Settlement")<
  Settlement,
  Effect.Effect.Success<typeof make>
>() {
  static layer = Layer.effect(Settlement, make);
}

/**
 * Claims whose proof never came, rejected while the gateway runs (every minute), not only when a
 * tally asks, and the heartbeat that tells a later start how long the gateway was down (written
 * with each round, and when the gateway stops): the gateway app runs it beside {@link SettlementLive}.
 */
export const ClaimExpiryLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const settlement = yield* Settlement;
    const beat = Effect.flatMap(Clock.currentTimeMillis, settlement.heartbeat);
    // A failed last beat only makes the next start count the last minute as downtime too.
    yield* Effect.addFinalizer(() => Effect.catchAllCause(beat, () => Effect.void));
    yield* Effect.forkScoped(
      claimExpiryLoop((now) => Effect.zipRight(settlement.heartbeat(now), settlement.expireClaims(now))),
    );
  }),
);

/** Settlement; needs `GatewayStore`, `SettlementIdentity` and `SettlementConfig`. */
export const SettlementLive = Settlement.layer;
