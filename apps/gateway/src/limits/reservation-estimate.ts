import type { ReservationAmount } from "./limits.js";

/**
 * What to reserve for one relay: the tier's price for each unit (a call, or an image) and the most
 * tokens the relay may use (input plus the requested output limit). Settling later charges the
 * actual figures, which never exceed these for a node that respects the request.
 *
 * @example reservationFor({ priceMicroUsd: 750 }, { inputTokens: 120, maxOutputTokens: 1000 })
 * // { requests: 1, tokens: 1120, costMicroUsd: 750 }
 */
export function reservationFor(
  tier: { readonly priceMicroUsd: number },
  request: { readonly inputTokens: number; readonly maxOutputTokens: number; readonly units?: number },
): ReservationAmount {
  return {
    requests: 1,
    tokens: request.inputTokens + request.maxOutputTokens,
    costMicroUsd: tier.priceMicroUsd * (request.units ?? 1),
  };
}
