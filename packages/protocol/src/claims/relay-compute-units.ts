/**
 * How a relay is weighed in a claim. `"per-call"`: every relay weighs the tier's fixed
 * `computeUnitsPerRelay`, as Pocket Network weighs relays today. `"per-token"`: the weight follows
 * the relay's real cost (input and output tokens), so a claim's sum is the work done.
 *
 * @example
 * ```ts
 * const mode: RelayWeighing = "per-token";
 * ```
 */
export type RelayWeighing = "per-call" | "per-token";

/**
 * Integer weights of one input and one output token, and the tier's token limits that define a
 * full call. A call at full limits weighs exactly the tier's `computeUnitsPerRelay`.
 *
 * @example
 * ```ts
 * const weights: RelayTokenWeights = { inputTokenWeight: 3, outputTokenWeight: 4, maxInputTokens: 200, maxOutputTokens: 1000 };
 * ```
 */
export interface RelayTokenWeights {
  readonly inputTokenWeight: number;
  readonly outputTokenWeight: number;
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
}

/**
 * The default weights: the seed's text tiers (at most 200 input and 1000 output tokens per call)
 * with tokens weighed in the ratio of the reference per-token prices ($0.00075 per 1k input,
 * $0.001 per 1k output = 3 : 4).
 *
 * @example
 * ```ts
 * DEFAULT_RELAY_TOKEN_WEIGHTS.maxOutputTokens; // 1000
 * ```
 */
export const DEFAULT_RELAY_TOKEN_WEIGHTS: RelayTokenWeights = Object.freeze({
  inputTokenWeight: 3,
  outputTokenWeight: 4,
  maxInputTokens: 200,
  maxOutputTokens: 1000,
});

/**
 * The compute units of one relay.
 *
 * - `"per-call"`: `tier.computeUnitsPerRelay`.
 * - `"per-token"`: `floor(C × work / full)` clamped to `[1, C]`, where `C` is the tier's
 *   `computeUnitsPerRelay`, `work = wIn × inputTokens + wOut × outputTokens` and
 *   `full = wIn × maxInputTokens + wOut × maxOutputTokens`. A full-limit call weighs `C`, so a
 *   relay never weighs more than the per-call price pays for, and settlement (which mints at most
 *   `uPoktPerRelay` per `C` compute units) never mints more than the fiat price buys. Every
 *   served relay weighs at least 1; flooring costs the node under one compute unit per relay.
 * - A batch of prompts (`/v1/completions` with `prompt` a list): pass `usage.calls`, the number of
 *   prompts. Text is priced per prompt, so the batch weighs `C × calls` per call, and per token at
 *   most `C × calls`.
 * - Image relays: pass `usage.standardUnits`, the number of standard images the call counts as
 *   (the catalog's `imageUnits`, priced per standard image); the weight is `C × standardUnits` in
 *   either mode. Settlement must then allow that much per relay (`maxComputeUnitsPerRelay` of the
 *   pinned price).
 *
 * Exact integer arithmetic (bigint inside). Throws `RangeError` for a negative or fractional count.
 *
 * @example
 * ```ts
 * const tier = { computeUnitsPerRelay: 750 }; // the catalog's standard text tier
 * relayComputeUnits(tier, { inputTokens: 200, outputTokens: 1000 }, "per-token"); // 750
 * relayComputeUnits(tier, { inputTokens: 100, outputTokens: 100 }, "per-token"); // 114 = floor(750 × 700 / 4600)
 * relayComputeUnits(tier, { inputTokens: 100, outputTokens: 100 }, "per-call"); // 750
 * relayComputeUnits({ computeUnitsPerRelay: 18_000 }, { inputTokens: 0, outputTokens: 0, standardUnits: 4 }, "per-call"); // 72000
 * relayComputeUnits(tier, { inputTokens: 40, outputTokens: 8, calls: 4 }, "per-call"); // 3000
 * ```
 */
export function relayComputeUnits(
  tier: { readonly computeUnitsPerRelay: number },
  usage: {
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly standardUnits?: number | undefined;
    /** Prompts in a batched text call (default 1): each is priced as a call. */
    readonly calls?: number | undefined;
  },
  mode: RelayWeighing,
  weights: RelayTokenWeights = DEFAULT_RELAY_TOKEN_WEIGHTS,
): number {
  const perRelay = tier.computeUnitsPerRelay;
  requireCount("computeUnitsPerRelay", perRelay);
  if (usage.standardUnits !== undefined) {
    requireCount("standardUnits", usage.standardUnits);
    const weight = perRelay * usage.standardUnits;
    requireCount("computeUnitsPerRelay × standardUnits", weight);
    return weight;
  }
  const calls = usage.calls ?? 1;
  requireCount("calls", calls);
  const ceiling = perRelay * Math.max(1, calls);
  requireCount("computeUnitsPerRelay × calls", ceiling);
  if (mode === "per-call") return ceiling;
  requireCount("inputTokens", usage.inputTokens);
  requireCount("outputTokens", usage.outputTokens);
  for (const [name, value] of Object.entries(weights)) requireCount(name, value);
  const full =
    BigInt(weights.inputTokenWeight) * BigInt(weights.maxInputTokens) +
    BigInt(weights.outputTokenWeight) * BigInt(weights.maxOutputTokens);
  if (full === 0n || perRelay === 0) return ceiling;
  const work =
    BigInt(weights.inputTokenWeight) * BigInt(usage.inputTokens) +
    BigInt(weights.outputTokenWeight) * BigInt(usage.outputTokens);
  const scaled = (BigInt(perRelay) * work) / full;
  return Math.max(1, Number(scaled < BigInt(ceiling) ? scaled : BigInt(ceiling)));
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`relayComputeUnits: ${name} must be a safe integer >= 0, got ${value}`);
  }
}

/**
 * The compute units of a streamed text relay its client left mid-way: the share of the call's
 * per-call weight (`C × calls`, as {@link relayComputeUnits} weighs a whole call) that the output
 * it received (`outputTokens`, counted by the protocol's `DeliveredTally` as far as the node's
 * signed heads cover it) makes of the output it asked for (`maxOutputTokens`), rounded up: the
 * same share its client pays of the call's price. 0 when nothing was delivered (or nothing could
 * be). A gateway that charged its client the whole call (a client that chose to leave) weighs the
 * whole by passing `outputTokens: maxOutputTokens`. The gateway sets it and tells the node in a signed `StreamCutReceipt`.
 *
 * Exact integer arithmetic (bigint inside). Throws `RangeError` for a negative or fractional count.
 *
 * @example
 * ```ts
 * cutStreamComputeUnits({ computeUnitsPerRelay: 750 }, { outputTokens: 10 }, 100); // 75
 * cutStreamComputeUnits({ computeUnitsPerRelay: 750 }, { outputTokens: 1 }, 1000); // 1 (750 / 1000, rounded up)
 * cutStreamComputeUnits({ computeUnitsPerRelay: 750 }, { outputTokens: 0 }, 100); // 0
 * ```
 */
export function cutStreamComputeUnits(
  tier: { readonly computeUnitsPerRelay: number },
  usage: { readonly outputTokens: number; readonly calls?: number | undefined },
  maxOutputTokens: number,
): number {
  requireCount("computeUnitsPerRelay", tier.computeUnitsPerRelay);
  requireCount("outputTokens", usage.outputTokens);
  requireCount("maxOutputTokens", maxOutputTokens);
  const calls = usage.calls ?? 1;
  requireCount("calls", calls);
  const ceiling = BigInt(tier.computeUnitsPerRelay) * BigInt(Math.max(1, calls));
  if (usage.outputTokens === 0 || maxOutputTokens === 0) return 0;
  const delivered = BigInt(Math.min(usage.outputTokens, maxOutputTokens));
  const max = BigInt(maxOutputTokens);
  const share = (ceiling * delivered + max - 1n) / max;
  const weight = Number(share < ceiling ? share : ceiling);
  requireCount("computeUnitsPerRelay × calls", weight);
  return weight;
}
