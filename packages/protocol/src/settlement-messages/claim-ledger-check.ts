import { type ClaimRoot, ClaimRootSchema } from "../claims/index.js";
import { fail, ok, type Result } from "../errors/index.js";

/**
 * What a gateway's own records hold for one node and session: the number of responses it verified
 * (signature, service, limits) and the sum of their compute units.
 *
 * @example
 * ```ts
 * const ledger: RelayLedgerTotals = { relays: 100_000, computeUnits: 75_000_000n };
 * ```
 */
export interface RelayLedgerTotals {
  readonly relays: number;
  readonly computeUnits: bigint;
}

/**
 * Compares a claim's totals with the gateway's ledger of verified responses for that node and
 * session. Claiming more relays or more compute units than the ledger holds is refused with
 * INVALID_CLAIM (param `relays` or `computeUnits`): one proof checks one leaf, so totals are where
 * an inflated claim is caught. Claiming fewer is allowed — a node may lose relays it served (a
 * crash before they were stored) or the gateway may count a response the node never recorded; an
 * under-claim only costs the node its own reward. The shortfall is returned for the operator's
 * metrics. Never throws on the claim (it is re-checked against the schema); throws `RangeError` for a ledger with negative
 * or fractional totals (the gateway's own bug).
 *
 * @example
 * ```ts
 * checkClaimAgainstLedger({ root, relays: 120, computeUnits: "90000" }, { relays: 100, computeUnits: 75_000n });
 * // fails INVALID_CLAIM: "claim has 120 relays; the gateway verified 100 responses for this node and session"
 * ```
 */
export function checkClaimAgainstLedger(
  claimRoot: ClaimRoot,
  ledger: RelayLedgerTotals,
): Result<{ unclaimedRelays: number; unclaimedComputeUnits: bigint }> {
  if (!Number.isSafeInteger(ledger.relays) || ledger.relays < 0) {
    throw new RangeError(
      `checkClaimAgainstLedger: ledger relays must be a safe integer >= 0, got ${ledger.relays}`,
    );
  }
  if (typeof ledger.computeUnits !== "bigint" || ledger.computeUnits < 0n) {
    throw new RangeError("checkClaimAgainstLedger: ledger computeUnits must be a bigint >= 0");
  }
  const parsed = ClaimRootSchema.safeParse(claimRoot);
  if (!parsed.success) return fail("INVALID_CLAIM", "claim root does not match the claim schema");
  const claim = parsed.data;
  if (claim.relays > ledger.relays) {
    return fail(
      "INVALID_CLAIM",
      `claim has ${claim.relays} relays; the gateway verified ${ledger.relays} responses for this node and session`,
      "relays",
    );
  }
  const computeUnits = BigInt(claim.computeUnits);
  if (computeUnits > ledger.computeUnits) {
    return fail(
      "INVALID_CLAIM",
      `claim has ${computeUnits} compute units; the gateway's verified responses for this node and session sum to ${ledger.computeUnits}`,
      "computeUnits",
    );
  }
  return ok({
    unclaimedRelays: ledger.relays - claim.relays,
    unclaimedComputeUnits: ledger.computeUnits - computeUnits,
  });
}
