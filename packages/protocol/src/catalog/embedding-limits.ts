import type { TokenCounter } from "../budget/relay-input.js";
import { fail, ok, type Result } from "../errors/index.js";
import type { EmbeddingTierSpec } from "./tier-spec.js";

/** What an embeddings call asks of its tier: its inputs and, optionally, a vector length. */
export interface EmbeddingCall {
  readonly inputs: readonly string[];
  readonly dimensions?: number | null | undefined;
}

/**
 * Checks an embeddings call against its tier: at most `maxInputs` inputs (`TOO_MANY_INPUTS`),
 * `dimensions` only at the tier's own length (`UNSUPPORTED_PARAMETER`), each input at most
 * `maxTokensPerInput` tokens by `count` (`INPUT_TOO_LONG`: a batch is limited per input, never
 * summed). Returns the input tokens of the whole call.
 *
 * @example
 * ```ts
 * const tier = findTier(findService(DEFAULT_CATALOG, "nomic-embed-text")!, "standard") as EmbeddingTierSpec;
 * checkEmbeddingLimits(tier, { inputs: ["a cat", "a dog"] }, tokensAtLeast); // ok(…)
 * ```
 */
export function checkEmbeddingLimits(
  tier: EmbeddingTierSpec,
  call: EmbeddingCall,
  count: TokenCounter,
): Result<{ readonly inputTokens: number }> {
  const { maxInputs, maxTokensPerInput, dimensions } = tier.limits;
  if (call.inputs.length > maxInputs) {
    return fail(
      "TOO_MANY_INPUTS",
      `${call.inputs.length} inputs; the tier takes ${maxInputs} per call`,
      "input",
    );
  }
  if (call.dimensions !== undefined && call.dimensions !== null && call.dimensions !== dimensions) {
    return fail(
      "UNSUPPORTED_PARAMETER",
      `this tier's vectors have ${dimensions} dimensions; ${call.dimensions} cannot be made`,
      "dimensions",
    );
  }
  let inputTokens = 0;
  for (const [i, text] of call.inputs.entries()) {
    const tokens = count(text);
    if (tokens > maxTokensPerInput) {
      return fail(
        "INPUT_TOO_LONG",
        `input ${i} has at least ${tokens} tokens; the tier allows ${maxTokensPerInput} per input`,
        "input",
      );
    }
    inputTokens += tokens;
  }
  return ok({ inputTokens });
}
