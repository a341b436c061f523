import { MAX_CLAIM_WINDOW_MS, MAX_PROOF_WINDOW_MS } from "@pocket-ai/protocol";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { proofDeadline } from "./claim-expiry.js";
import { type ClaimRow, claimsAwaitingProof, extendProofWindow, findRate } from "./claim-store.js";
import type { SettlementDeps } from "./settlement-deps.js";
import { weekFinality } from "./settlement-tally.js";

/** The heartbeat's one row. */
const HEARTBEAT_ID = "settlement";

/**
 * A gap between the last heartbeat and a start longer than this is downtime: every replica writes
 * the heartbeat about every minute (with the claim expiry), so a shorter gap is a replica that
 * restarted while the others ran, or a gateway that was down for at most a few minutes.
 */
export const DOWNTIME_AFTER_MS = 3 * 60_000;

/** Records that settlement runs at `now` (never moves the heartbeat back). */
export function writeHeartbeat(db: SqlClient, now: number): Promise<number> {
  return db.run(sql`insert into settlement_heartbeat (id, alive_at) values (${HEARTBEAT_ID}, ${now})
    on conflict (id) do update set alive_at = excluded.alive_at
    where settlement_heartbeat.alive_at < excluded.alive_at`);
}

/**
 * The latest moment a claim can be proven, whatever the downtime: the week's `proofsUntil` (after
 * it, and the expiry's slack, the week's tally becomes final), and the last moment a node keeps
 * trying its proof (`claimGivesUpAt` in the node: the longest claim window after the session's
 * end and grace, then the longest proof window).
 */
function lastProofAt(row: ClaimRow, weekProofsUntil: number | null, deps: SettlementDeps): number {
  const nodeGivesUpAt =
    row.sessionEnd + deps.identity.session.graceMs + MAX_CLAIM_WINDOW_MS + MAX_PROOF_WINDOW_MS;
  return weekProofsUntil === null ? nodeGivesUpAt : Math.min(weekProofsUntil, nodeGivesUpAt);
}

/**
 * When the gateway starts: if settlement's last heartbeat is more than {@link DOWNTIME_AFTER_MS}
 * old, the gateway was down for that long, and no node could prove a claim meanwhile. Each claim
 * still awaiting its proof whose window was open when the heartbeat stopped gets its window
 * extended by the gap (so it has as long left as it had then), at most until its week's proofs
 * close ({@link lastProofAt}): a week whose tally is final never changes. One transaction, which
 * moves the heartbeat on from the value it read: of replicas starting together, one extends.
 * Returns how long the gateway was down (0 when it was not).
 */
export function makeCreditDowntime(deps: SettlementDeps) {
  const { use, config } = deps;
  return Effect.fn("Settlement.creditDowntime")(function* (now: number) {
    return yield* use("claims.creditDowntime", (db) =>
      db.transaction(async (tx) => {
        const beat = await tx.get<{ aliveAt: number }>(
          sql`select alive_at as "aliveAt" from settlement_heartbeat where id = ${HEARTBEAT_ID}`,
        );
        const lastAlive = beat === undefined ? undefined : Number(beat.aliveAt);
        if (lastAlive === undefined || now - lastAlive <= DOWNTIME_AFTER_MS) {
          await writeHeartbeat(tx, now);
          return 0;
        }
        const moved = await tx.run(sql`update settlement_heartbeat set alive_at = ${now}
          where id = ${HEARTBEAT_ID} and alive_at = ${lastAlive}`);
        if (moved !== 1) return 0; // another replica started first and extended the windows
        const gap = now - lastAlive;
        const weekEnds = new Map<string, number | null>();
        for (const claim of await claimsAwaitingProof(tx)) {
          const deadline = proofDeadline(claim, config.proofWindowMs);
          if (deadline < lastAlive) continue; // closed before the gateway went down
          let weekEnd = weekEnds.get(claim.weekId);
          if (weekEnd === undefined) {
            const rate = await findRate(tx, claim.weekId);
            weekEnd = weekFinality(claim.weekId, rate, deps, now).proofsUntil;
            weekEnds.set(claim.weekId, weekEnd);
          }
          const extended = Math.min(deadline + gap, lastProofAt(claim, weekEnd, deps));
          if (extended > deadline) {
            await extendProofWindow(tx, claim, extended - claim.claimedAt - config.proofWindowMs);
          }
        }
        return gap;
      }),
    );
  });
}
