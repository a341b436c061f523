import { type RelayUsage, type RelayWeighing, relayComputeUnits, type TierSpec } from "@pocket-ai/protocol";

/**
 * A relay's weight in the claim: per call (Pocket's rule) or by tokens, a batch of prompts as that
 * many calls; images by standard-image units. `tier` is the tier the gateway's envelope names (the
 * one it sold), never a dearer tier the node registered that covers it.
 */
export function weightOf(
  tier: TierSpec,
  usage: RelayUsage,
  imageUnits: number,
  weighting: RelayWeighing,
  calls = 1,
): number {
  if (imageUnits > 0) return tier.computeUnitsPerRelay * imageUnits;
  return relayComputeUnits(tier, { ...usage, calls }, weighting);
}
