import { wholeAmount } from "./money.js";

/**
 * Per-token reference prices in µUSD per 1,000 tokens.
 *
 * @example
 * ```ts
 * const prices: TokenPricesPer1k = { inputMicroUsdPer1k: 750, outputMicroUsdPer1k: 1000 };
 * ```
 */
export interface TokenPricesPer1k {
  readonly inputMicroUsdPer1k: number;
  readonly outputMicroUsdPer1k: number;
}

/**
 * The reference prices the seed proposal quotes from AWS Bedrock for Llama 2 13B: $0.00075 per
 * 1,000 input tokens and $0.001 per 1,000 output tokens.
 *
 * @example
 * ```ts
 * BEDROCK_LLAMA2_13B_PRICES.inputMicroUsdPer1k; // 750
 * ```
 */
export const BEDROCK_LLAMA2_13B_PRICES: TokenPricesPer1k = Object.freeze({
  inputMicroUsdPer1k: 750,
  outputMicroUsdPer1k: 1000,
});

/**
 * What a call would cost at per-token prices, in µUSD, for comparison with a per-call price:
 * `ceil((in × inputPer1k + out × outputPer1k) / 1000)`, exact integer arithmetic, rounded up as a
 * customer would be billed.
 *
 * @example
 * ```ts
 * bedrockEquivalentMicroUsd(200, 1000); // 1150n: $0.00115, against Pocket AI's $0.00075 per call
 * ```
 */
export function bedrockEquivalentMicroUsd(
  inputTokens: number,
  outputTokens: number,
  prices: TokenPricesPer1k = BEDROCK_LLAMA2_13B_PRICES,
): bigint {
  const total =
    wholeAmount("inputTokens", inputTokens) * wholeAmount("inputMicroUsdPer1k", prices.inputMicroUsdPer1k) +
    wholeAmount("outputTokens", outputTokens) *
      wholeAmount("outputMicroUsdPer1k", prices.outputMicroUsdPer1k);
  return (total + 999n) / 1000n;
}
