import { MICRO_USD_PER_USD, wholeAmount } from "./money.js";

/**
 * uPOKT that one relay's fiat price buys at a POKT rate: `floor(price × 10^6 / rate)`, both in
 * µUSD. Rounding is down, so the uPOKT minted for a relay never buys more than its price. Throws
 * `RangeError` for a negative/fractional price or a rate below 1.
 *
 * @example
 * ```ts
 * uPoktPerRelay(750, 250_000); // 3000n  ($0.00075 at $0.25/POKT = 0.003 POKT)
 * uPoktPerRelay(18_000, 250_000); // 72000n (a $0.018 image)
 * ```
 */
export function uPoktPerRelay(priceMicroUsd: bigint | number, rateMicroUsdPerPokt: bigint | number): bigint {
  const price = wholeAmount("priceMicroUsd", priceMicroUsd);
  const rate = wholeAmount("rateMicroUsdPerPokt", rateMicroUsdPerPokt, 1n);
  return (price * MICRO_USD_PER_USD) / rate;
}

/**
 * Morse's relays-to-tokens multiplier (RTTM) for a service: the uPOKT minted per proven relay,
 * set so that exactly {@link uPoktPerRelay} mints per relay. Same value, Morse's name.
 *
 * @example
 * ```ts
 * relaysToTokensMultiplier(750, 250_000); // 3000n
 * ```
 */
export function relaysToTokensMultiplier(
  priceMicroUsd: bigint | number,
  rateMicroUsdPerPokt: bigint | number,
): bigint {
  return uPoktPerRelay(priceMicroUsd, rateMicroUsdPerPokt);
}

/**
 * Shannon's compute-units-to-tokens multiplier (CUTTM) as an exact rational: `uPoktPerRelay`
 * uPOKT per `computeUnitsPerRelay` compute units. Settlement mints
 * `floor(computeUnits × uPoktPerRelay / computeUnitsPerRelay)` per claim, so a claim of `r` full
 * relays mints exactly `r × uPoktPerRelay` whatever the two numbers are, and flooring loses
 * under 1 uPOKT per claim (never minted, never charged).
 *
 * An integer-only CUTTM (uPOKT per CU, as Shannon stores it) is also given:
 * `integerUPoktPerComputeUnit = floor(uPoktPerRelay / computeUnitsPerRelay)`, with
 * `integerRemainderPerRelay` the uPOKT per relay it would leave unminted (0 when the CU count
 * divides the relay price, e.g. 1000 CU at 3000 uPOKT gives exactly 3 uPOKT per CU).
 *
 * @example
 * ```ts
 * computeUnitsToTokensMultiplier(3000n, 750).integerUPoktPerComputeUnit; // 4n, remainder 0n
 * const m = computeUnitsToTokensMultiplier(3000n, 4600);
 * m.integerUPoktPerComputeUnit; // 0n: an integer CUTTM could not express this price
 * m.integerRemainderPerRelay; // 3000n — the exact rational still mints 3000 per 4600 CU
 * ```
 */
export function computeUnitsToTokensMultiplier(
  uPoktPerRelay: bigint | number,
  computeUnitsPerRelay: bigint | number,
): ComputeUnitsToTokensMultiplier {
  const uPokt = wholeAmount("uPoktPerRelay", uPoktPerRelay);
  const cu = wholeAmount("computeUnitsPerRelay", computeUnitsPerRelay, 1n);
  const integer = uPokt / cu;
  return {
    uPoktPerRelay: uPokt,
    computeUnitsPerRelay: cu,
    integerUPoktPerComputeUnit: integer,
    integerRemainderPerRelay: uPokt - integer * cu,
  };
}

/**
 * A CUTTM as the exact rational `uPoktPerRelay / computeUnitsPerRelay`, with its integer
 * approximation. See {@link computeUnitsToTokensMultiplier}.
 *
 * @example
 * ```ts
 * const m: ComputeUnitsToTokensMultiplier = computeUnitsToTokensMultiplier(3000n, 1000);
 * m.integerUPoktPerComputeUnit; // 3n
 * ```
 */
export interface ComputeUnitsToTokensMultiplier {
  readonly uPoktPerRelay: bigint;
  readonly computeUnitsPerRelay: bigint;
  readonly integerUPoktPerComputeUnit: bigint;
  readonly integerRemainderPerRelay: bigint;
}
