import { imageUnits, type RelayUsage } from "@pocket-ai/protocol";
import type { PreparedRelay } from "./prepare-request.js";

/** What a relay counts against the key's limits once it is over. */
export interface RelayCharge {
  readonly tokens: number;
  readonly costMicroUsd: number;
}

/**
 * The price of a relay the node answered. Text: the tier's price per call, and a batch of prompts
 * (`/v1/completions` with a list) as that many calls — each prompt is its own call's worth of
 * input, held to the tier's input limit on its own. Images: the price per
 * standard image × the standard-image units of the images actually made. An interrupted stream
 * pays for what was delivered: the call price × delivered / allowed output tokens, rounded up
 * (nothing delivered, nothing to pay). A stream its client cut while the node was still sending is
 * charged as `complete`, by the caller: that was the client's choice. `usage` is what the protocol's `DeliveredTally` counted —
 * the node's signed tally for a relay delivered whole, the gateway's own for one cut short — so
 * who failed does not change what the client pays.
 */
export function chargeFor(
  relay: PreparedRelay,
  usage: RelayUsage,
  outcome: "complete" | "interrupted",
): RelayCharge {
  const tierPrice = relay.target.tier.priceMicroUsd;
  if (relay.target.kind === "image") {
    const size = relay.image ?? { width: 0, height: 0, n: 0 };
    const made = Math.min(usage.images ?? size.n, size.n);
    return {
      tokens: 0,
      costMicroUsd: made === 0 ? 0 : tierPrice * imageUnits(relay.target.tier, size.width, size.height, made),
    };
  }
  const price = tierPrice * Math.max(1, relay.calls ?? 1);
  const tokens = usage.inputTokens + usage.outputTokens;
  if (relay.target.kind === "embedding") return { tokens, costMicroUsd: outcome === "complete" ? price : 0 };
  if (outcome === "complete") return { tokens, costMicroUsd: price };
  if (usage.outputTokens === 0 || relay.maxOutputTokens === 0) return { tokens, costMicroUsd: 0 };
  // In integers, rounded up: the same share `cutStreamComputeUnits` weighs for the node.
  const delivered = Math.min(usage.outputTokens, relay.maxOutputTokens);
  const cost = Math.floor((price * delivered + relay.maxOutputTokens - 1) / relay.maxOutputTokens);
  return { tokens, costMicroUsd: Math.min(price, cost) };
}
