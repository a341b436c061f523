import { type RelayUsage, type RelayWeighing, relayComputeUnits, type TierSpec } from "@pocket-ai/protocol";

/**
 * Reads the token usage an OpenAI-shaped body reports (`usage.prompt_tokens`,
 * `usage.completion_tokens`), falling back to the node's own input count, and caps output at what
 * the tier allowed: a backend that overran the clamp is not paid for the overrun.
 */
export function usageOf(body: unknown, inputTokens: number, maxOutputTokens: number): RelayUsage {
  const usage = (body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
  const reportedIn = usage?.prompt_tokens;
  const reportedOut = usage?.completion_tokens;
  const input =
    typeof reportedIn === "number" && Number.isSafeInteger(reportedIn) && reportedIn >= 0
      ? reportedIn
      : inputTokens;
  const output =
    typeof reportedOut === "number" && Number.isSafeInteger(reportedOut) && reportedOut >= 0
      ? reportedOut
      : 0;
  return { inputTokens: input, outputTokens: Math.min(output, maxOutputTokens) };
}

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
