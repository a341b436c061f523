import { Clock, Effect, Schedule } from "effect";
import { claimsPastProofWindow, settleOpenClaim } from "./claim-store.js";
import { isoTime, type SettlementDeps } from "./settlement-deps.js";

/** How often each replica rejects the claims whose proof window closed without a proof. */
export const CLAIM_EXPIRY_EVERY_MS = 60_000;

/**
 * How long after a claim's proof window closed the expiry waits before it rejects the claim: a
 * proof the intake accepted just in time (by its own clock, or a replica's a little behind) is
 * still settling, and must not lose to the sweep.
 */
export const CLAIM_EXPIRY_SLACK_MS = 5 * 60_000;

/** Claims rejected per transaction of the expiry. */
const EXPIRY_BATCH = 500;

/**
 * Until when a claim may be proven: its proof window from when it was stored, plus the time the
 * window was extended by while the gateway was down (see `downtime-credit.ts`).
 */
export const proofDeadline = (
  claim: { readonly claimedAt: number; readonly proofExtensionMs: number },
  proofWindowMs: number,
): number => claim.claimedAt + proofWindowMs + claim.proofExtensionMs;

/** Why a claim whose proof did not come in time is rejected: a late proof gets the same answer. */
export const proofWindowClosed = (deadline: number): string =>
  `CLAIM_WINDOW_CLOSED: the proof window closed at ${isoTime(deadline)}`;

/**
 * Rejects every claim whose proof window closed ({@link proofDeadline}) more than
 * {@link CLAIM_EXPIRY_SLACK_MS} before `now` without a proof, with the answer a late proof gets (`CLAIM_WINDOW_CLOSED`): the claim is settled for
 * good, so the week's tally stops counting it as awaiting proof and can become final. Each claim
 * leaves `claimed` by the same conditional UPDATE a proof settles it with, so a proof that lands
 * meanwhile, on any replica, keeps its outcome. Returns how many claims it rejected.
 */
export function makeExpireClaims({ use, config }: SettlementDeps) {
  const batch = (now: number) =>
    use("claims.expire", (db) =>
      db.transaction(async (tx) => {
        const open = await claimsPastProofWindow(
          tx,
          now - config.proofWindowMs - CLAIM_EXPIRY_SLACK_MS,
          EXPIRY_BATCH,
        );
        let rejected = 0;
        for (const claim of open) {
          const detail = proofWindowClosed(proofDeadline(claim, config.proofWindowMs));
          const outcome = {
            status: "rejected",
            mintedUpokt: "0",
            paid: null,
            detail,
            settledAt: now,
          } as const;
          if (await settleOpenClaim(tx, claim, outcome)) rejected++;
        }
        return { seen: open.length, rejected };
      }),
    );
  return Effect.fn("Settlement.expireClaims")(function* (now: number) {
    let rejected = 0;
    // Every claim a batch read left `claimed` (rejected here or settled by a proof), so the next
    // batch reads the ones after it.
    for (;;) {
      const done = yield* batch(now);
      rejected += done.rejected;
      if (done.seen < EXPIRY_BATCH) return rejected;
    }
  });
}

/**
 * The expiry, every {@link CLAIM_EXPIRY_EVERY_MS} while the gateway runs. A failed round is logged
 * (no claim data in it) and the next one tries again.
 */
export function claimExpiryLoop(expire: (now: number) => Effect.Effect<number, unknown>) {
  const round = Effect.flatMap(Clock.currentTimeMillis, expire).pipe(
    Effect.flatMap((rejected) =>
      rejected === 0
        ? Effect.void
        : Effect.logInfo("rejected claims whose proof window closed without a proof").pipe(
            Effect.annotateLogs({ claims: rejected }),
          ),
    ),
    // A defect too: the loop must outlive a failed round.
    Effect.catchAllCause((cause) => Effect.logWarning("claim expiry failed", cause)),
  );
  return Effect.repeat(Effect.delay(round, CLAIM_EXPIRY_EVERY_MS), Schedule.forever);
}
