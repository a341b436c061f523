import {
  type ClaimRoot,
  MICRO_USD_PER_USD,
  mintForClaim,
  type PinnedPrice,
  pinPrice,
  type WeeklyRate,
} from "@pocket-ai/protocol";

/**
 * The mint of a proven claim.
 *
 * The catalog weighs every relay in compute units equal to its price in µUSD (750 CU for a
 * $0.00075 text call, 18,000 CU per $0.018 standard image), so a claim's compute-unit sum is the
 * fiat value of its work and one compute-units-to-tokens multiplier per week converts every
 * service and tier — a session may mix tiers — to POKT: 1 CU = 1 µUSD = 10^6 / R uPOKT at a rate
 * of R µUSD per POKT. As a protocol {@link PinnedPrice} that is a "relay" of `R / g` CU priced
 * `R / g` µUSD, with `g = gcd(10^6, R)`: its `uPoktPerRelay` is exactly `10^6 / g`, so
 * `mintForClaim` floors once per claim and mints
 *
 *   floor(min(CU, relays × maxCU) × 10^6 / R)   uPOKT.
 *
 * At the seed's $0.25 (R = 250,000) the multiplier is 4 uPOKT per CU: a 750-CU relay mints 3000
 * uPOKT, 100,000 of them 300 POKT. `maxCU` is the heaviest relay the gateway's ledger holds for
 * that node and session, so an inflated compute-unit sum could never mint past it (the ledger
 * check already refuses sums above the ledger's).
 */

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** The week's compute-unit price as a protocol pin (see the module comment). */
export function computeUnitPin(
  serviceId: string,
  rate: WeeklyRate,
  maxComputeUnitsPerRelay: number,
): PinnedPrice {
  const r = BigInt(rate.rateMicroUsdPerPokt);
  const unit = Number(r / gcd(MICRO_USD_PER_USD, r));
  return pinPrice(
    {
      serviceId,
      tierId: "per-compute-unit",
      priceMicroUsd: unit,
      computeUnitsPerRelay: unit,
      maxComputeUnitsPerRelay: Math.max(unit, maxComputeUnitsPerRelay),
    },
    rate,
  );
}

/** The fiat rule the mint must equal: floor(billable CU × 10^6 / R). */
export function fiatRuleMint(claim: ClaimRoot, rate: WeeklyRate, maxComputeUnitsPerRelay: number): bigint {
  const cap = BigInt(claim.relays) * BigInt(maxComputeUnitsPerRelay);
  const cu = BigInt(claim.computeUnits);
  const billable = cu < cap ? cu : cap;
  return (billable * MICRO_USD_PER_USD) / BigInt(rate.rateMicroUsdPerPokt);
}

/**
 * uPOKT minted for a proven claim at its pinned week rate: `mintForClaim` under the week's
 * compute-unit pin, cross-checked against the fiat rule. Throws if the two ever disagree (a
 * defect: the tally must never carry a mint the fiat price does not explain).
 */
export function mintOfClaim(
  serviceId: string,
  claim: ClaimRoot,
  rate: WeeklyRate,
  maxComputeUnitsPerRelay: number,
): bigint {
  const pin = computeUnitPin(serviceId, rate, maxComputeUnitsPerRelay);
  const minted = mintForClaim(claim, pin);
  const expected = fiatRuleMint(claim, rate, Math.max(pin.computeUnitsPerRelay, maxComputeUnitsPerRelay));
  if (minted !== expected) {
    throw new Error(`mint ${minted} disagrees with the fiat rule ${expected} for ${JSON.stringify(claim)}`);
  }
  return minted;
}
