import type { Catalog } from "@pocket-ai/protocol";

/** A tier whose price differs from its weight: what the operator pays (or keeps) per relay. */
export interface PriceWeightGap {
  readonly tier: string;
  readonly priceMicroUsd: number;
  readonly computeUnitsPerRelay: number;
}

/**
 * The tiers of `catalog` that sell for a price other than their weight. A relay mints its compute
 * units (1 CU = 1 µUSD) whatever the client was billed, so a tier patched to a lower price (a
 * discount) costs the operator the difference per relay, and a higher one keeps it. The default
 * catalog has none: each tier's compute units equal its price.
 */
export function priceWeightGaps(catalog: Catalog): PriceWeightGap[] {
  return catalog.services.flatMap((service) =>
    service.tiers
      .filter((tier) => tier.priceMicroUsd !== tier.computeUnitsPerRelay)
      .map((tier) => ({
        tier: `${service.id}:${tier.id}`,
        priceMicroUsd: tier.priceMicroUsd,
        computeUnitsPerRelay: tier.computeUnitsPerRelay,
      })),
  );
}
