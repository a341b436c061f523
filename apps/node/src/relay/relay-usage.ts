import { type RelayUsage, type RelayWeighing, relayComputeUnits, type TierSpec } from "@pocket-ai/protocol";

/** A relay's weight in the claim: per call (Pocket's rule) or by tokens; images by standard-image units. */
export function weightOf(
  tier: TierSpec,
  usage: RelayUsage,
  imageUnits: number,
  weighting: RelayWeighing,
): number {
  if (imageUnits > 0) return tier.computeUnitsPerRelay * imageUnits;
  return relayComputeUnits(tier, usage, weighting);
}
