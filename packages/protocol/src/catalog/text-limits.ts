import { fail, ok, type Result } from "../errors/index.js";
import { describeTarget, type LimitTarget, tierOfTarget } from "./limit-target.js";
import { isTextTier, type TextTierSpec } from "./tier-spec.js";

/**
 * The size of a text call as the limit check sees it: input tokens (of one prompt: a batch is
 * checked prompt by prompt — `relayBudget` passes its largest prompt here),
 * the requested `max_tokens` per choice (missing = the tier's maximum), and how many choices each
 * prompt asks for (`n` × number of prompts; default 1).
 *
 * @example
 * ```ts
 * const call: TextCallSize = { inputTokens: 120, maxTokens: 256 };
 * ```
 */
export interface TextCallSize {
  readonly inputTokens: number;
  readonly maxTokens?: number | undefined;
  readonly choices?: number | undefined;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a text call against its tier before any work is spent. The output budget is
 * `maxTokens × choices`, since a tier's price covers one call's worth of output. Returns the
 * effective `maxTokens` per choice (the request's, or the largest the tier allows when missing).
 * Errors: INPUT_TOO_LONG (param `prompt`), OUTPUT_TOO_LONG (param `max_tokens`), INVALID_REQUEST
 * for negative or fractional counts, UNSUPPORTED_OPERATION for an image tier.
 *
 * @example
 * ```ts
 * const llama = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
 * if (llama.ok) checkTextLimits(llama.value, { inputTokens: 240 });
 * // fails: "prompt has 240 input tokens; tier llama-2-13b:standard allows 200"
 * ```
 */
export function checkTextLimits(target: LimitTarget, call: TextCallSize): Result<{ maxTokens: number }> {
  const tier = tierOfTarget(target);
  const name = describeTarget(target);
  if (!isTextTier(tier))
    return fail("UNSUPPORTED_OPERATION", `${name} is an image tier; it takes no text calls`);
  const choices = call.choices ?? 1;
  if (!isCount(call.inputTokens))
    return fail("INVALID_REQUEST", "inputTokens must be a non-negative integer");
  if (call.maxTokens !== undefined && !isCount(call.maxTokens)) {
    return fail("INVALID_REQUEST", "max_tokens must be a non-negative integer", "max_tokens");
  }
  if (!isCount(choices) || choices < 1) return fail("INVALID_REQUEST", "n must be a positive integer", "n");
  const { maxInputTokens, maxOutputTokens } = tier.limits;
  if (call.inputTokens > maxInputTokens) {
    return fail(
      "INPUT_TOO_LONG",
      `prompt has ${call.inputTokens} input tokens; ${name} allows ${maxInputTokens}`,
      "prompt",
    );
  }
  const perChoice = Math.floor(maxOutputTokens / choices);
  if (call.maxTokens === undefined) {
    if (perChoice < 1) {
      return fail(
        "OUTPUT_TOO_LONG",
        `${choices} choices exceed ${name}'s ${maxOutputTokens} output tokens`,
        "n",
      );
    }
    return ok({ maxTokens: perChoice });
  }
  const total = call.maxTokens * choices;
  if (total > maxOutputTokens) {
    const asked =
      choices === 1
        ? `max_tokens is ${call.maxTokens}`
        : `n=${choices} × max_tokens ${call.maxTokens} = ${total} output tokens`;
    return fail("OUTPUT_TOO_LONG", `${asked}; ${name} allows ${maxOutputTokens}`, "max_tokens");
  }
  return ok({ maxTokens: call.maxTokens });
}

/**
 * The `max_tokens` a node should pass to its backend: the request's value capped at the tier's
 * output limit divided among the choices; a missing value means the tier's maximum.
 *
 * @example
 * ```ts
 * const standard = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard") as TextTierSpec;
 * clampMaxTokens(standard); // 1000
 * clampMaxTokens(standard, 4000); // 1000
 * clampMaxTokens(standard, undefined, 4); // 250
 * ```
 */
export function clampMaxTokens(tier: TextTierSpec, requested?: number | null, choices = 1): number {
  const perChoice = Math.floor(tier.limits.maxOutputTokens / Math.max(1, choices));
  return requested === undefined || requested === null
    ? perChoice
    : Math.max(0, Math.min(requested, perChoice));
}
