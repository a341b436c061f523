import { z } from "zod";
import { MICRO_USD_PER_USD, wholeAmount } from "./money.js";
import { uPoktPerRelay } from "./multipliers.js";
import { WeeklyRate } from "./week-id.js";

/**
 * A service tier's price and multipliers, pinned when a session starts: the fiat price per relay,
 * the week's POKT rate, the uPOKT per relay they give (the RTTM, a decimal string), and the
 * compute units a full relay weighs (the CUTTM is `uPoktPerRelay / computeUnitsPerRelay`), and
 * optionally the most compute units one relay may weigh (default `computeUnitsPerRelay`; for an
 * image tier, `computeUnitsPerRelay ×` the most standard images one call may count). Claims
 * of that session settle with these numbers even if the price or the rate changes mid-session,
 * so no claim is forfeited. Parsing checks that `uPoktPerRelay` is the one price and rate give.
 *
 * @example
 * ```ts
 * PinnedPrice.parse({
 *   serviceId: "llama-2-13b", tierId: "standard", weekId: "2026-W48",
 *   priceMicroUsd: 750, rateMicroUsdPerPokt: 250_000, uPoktPerRelay: "3000", computeUnitsPerRelay: 750,
 * });
 * ```
 */
export const PinnedPrice = z
  .strictObject({
    serviceId: z.string().min(1).max(64),
    tierId: z.string().min(1).max(64),
    weekId: WeeklyRate.shape.weekId,
    priceMicroUsd: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    rateMicroUsdPerPokt: WeeklyRate.shape.rateMicroUsdPerPokt,
    uPoktPerRelay: z.string().regex(/^(0|[1-9][0-9]{0,29})$/),
    computeUnitsPerRelay: z.number().int().min(1).max(0xffff_ffff),
    maxComputeUnitsPerRelay: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine(
    (p) => p.maxComputeUnitsPerRelay === undefined || p.maxComputeUnitsPerRelay >= p.computeUnitsPerRelay,
    {
      message: "maxComputeUnitsPerRelay must be at least computeUnitsPerRelay",
      path: ["maxComputeUnitsPerRelay"],
    },
  )
  .refine((p) => BigInt(p.uPoktPerRelay) === uPoktPerRelay(p.priceMicroUsd, p.rateMicroUsdPerPokt), {
    message: "uPoktPerRelay must be floor(priceMicroUsd * 1e6 / rateMicroUsdPerPokt)",
    path: ["uPoktPerRelay"],
  });

/**
 * A parsed {@link PinnedPrice}.
 *
 * @example
 * ```ts
 * const pin: PinnedPrice = pinPrice({ serviceId: "llama-2-13b", tierId: "standard", priceMicroUsd: 750, computeUnitsPerRelay: 750 }, rate);
 * ```
 */
export type PinnedPrice = z.infer<typeof PinnedPrice>;

/**
 * Pins a tier's price at a week's rate (call it when the session starts, store the result with it).
 *
 * @example
 * ```ts
 * const pin = pinPrice(
 *   { serviceId: "llama-2-13b", tierId: "standard", priceMicroUsd: 750, computeUnitsPerRelay: 750 },
 *   { weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 },
 * );
 * pin.uPoktPerRelay; // "3000"
 * ```
 */
export function pinPrice(
  tier: {
    serviceId: string;
    tierId: string;
    priceMicroUsd: number;
    computeUnitsPerRelay: number;
    maxComputeUnitsPerRelay?: number | undefined;
  },
  rate: WeeklyRate,
): PinnedPrice {
  return PinnedPrice.parse({
    serviceId: tier.serviceId,
    tierId: tier.tierId,
    weekId: rate.weekId,
    priceMicroUsd: tier.priceMicroUsd,
    rateMicroUsdPerPokt: rate.rateMicroUsdPerPokt,
    uPoktPerRelay: uPoktPerRelay(tier.priceMicroUsd, rate.rateMicroUsdPerPokt).toString(),
    computeUnitsPerRelay: tier.computeUnitsPerRelay,
    ...(tier.maxComputeUnitsPerRelay === undefined
      ? {}
      : { maxComputeUnitsPerRelay: tier.maxComputeUnitsPerRelay }),
  });
}

/**
 * uPOKT minted for a proven claim under its session's pinned multipliers:
 * `floor(min(computeUnits, relays × M) × uPoktPerRelay / C)` with `C = computeUnitsPerRelay` and
 * `M = maxComputeUnitsPerRelay` (default `C`).
 * - A per-call text claim (every relay weighs `C`) mints exactly `relays × uPoktPerRelay`.
 * - A per-token claim mints in proportion to its work, at most `relays × uPoktPerRelay`.
 * - An image claim (relays weighing `C ×` standard images) mints `uPoktPerRelay` per standard image.
 * Every compute unit mints at most `uPoktPerRelay / C`, and `uPoktPerRelay` is rounded down from
 * the fiat price, so a claim never mints more than the fiat price of its work buys; the cap bounds
 * what an inflated compute-unit sum could mint to `relays × M` worth. Flooring happens once per
 * claim (under 1 uPOKT lost, neither minted nor charged). Throws `RangeError` for negative or
 * fractional inputs, and for text other than decimal digits.
 *
 * @example
 * ```ts
 * mintForClaim({ relays: 100_000, computeUnits: "75000000" }, { uPoktPerRelay: "3000", computeUnitsPerRelay: 750 });
 * // 300_000_000n uPOKT = 300 POKT
 * ```
 */
export function mintForClaim(
  root: { readonly relays: number; readonly computeUnits: string | bigint },
  pinned: {
    readonly uPoktPerRelay: string | bigint;
    readonly computeUnitsPerRelay: number;
    readonly maxComputeUnitsPerRelay?: number | undefined;
  },
): bigint {
  const relays = wholeAmount("relays", root.relays);
  const cu = wholeAmount("computeUnits", root.computeUnits);
  const perRelay = wholeAmount("uPoktPerRelay", pinned.uPoktPerRelay);
  const cuPerRelay = wholeAmount("computeUnitsPerRelay", pinned.computeUnitsPerRelay, 1n);
  const maxPerRelay = wholeAmount(
    "maxComputeUnitsPerRelay",
    pinned.maxComputeUnitsPerRelay ?? pinned.computeUnitsPerRelay,
    cuPerRelay,
  );
  const cap = relays * maxPerRelay;
  let billable = cu; // bigint: Math.min does not apply
  if (billable > cap) billable = cap;
  return (billable * perRelay) / cuPerRelay;
}

/**
 * The fiat value (µUSD, rounded down) of an amount of uPOKT at a rate — what the operator's burn
 * is worth. Useful for invoices next to the POKT figure.
 *
 * @example
 * ```ts
 * microUsdOfUPokt(300_000_000n, 250_000); // 75_000_000n ($75)
 * ```
 */
export function microUsdOfUPokt(uPokt: bigint, rateMicroUsdPerPokt: bigint | number): bigint {
  return (wholeAmount("uPokt", uPokt) * wholeAmount("rate", rateMicroUsdPerPokt, 1n)) / MICRO_USD_PER_USD;
}
