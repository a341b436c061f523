import { describeTarget, type LimitTarget, tierOfTarget } from "../catalog/limit-target.js";
import { checkTextLimits, clampMaxTokens } from "../catalog/text-limits.js";
import { isTextTier, type TextTierSpec } from "../catalog/tier-spec.js";
import { fail, ok, type Result } from "../errors/index.js";
import { type ChatCompletionRequest, chatMaxTokens } from "../openai/chat-request.js";
import type { CompletionRequest } from "../openai/completion-request.js";
import { promptText } from "../openai/prompt-text.js";
import { countRelayInput, relayInputs, type TextRequestOf, type TokenCounter } from "./relay-input.js";

/**
 * The output a text relay may produce: `maxTokens` per choice (the request's `max_tokens`, or
 * `max_completion_tokens` for chat, clamped to the tier's output limit shared among the choices),
 * and `maxOutputTokens` over all choices. Choices are prompts × `n`: the tier's output limit is one
 * call's worth, shared by the batch; the price is per prompt (each is a call's worth of input), so
 * a batch of `prompts` costs and weighs `prompts` calls.
 *
 * @example
 * ```ts
 * const cap: OutputCap = { prompts: 2, n: 1, choices: 2, maxTokens: 500, maxOutputTokens: 1000 };
 * ```
 */
export interface OutputCap {
  readonly prompts: number;
  readonly n: number;
  readonly choices: number;
  readonly maxTokens: number;
  readonly maxOutputTokens: number;
}

/**
 * The output cap of a text request on a tier (see {@link OutputCap}). Never fails: a request whose
 * choices leave less than one token each gets `maxTokens` 0.
 *
 * @example
 * ```ts
 * const standard = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard") as TextTierSpec;
 * relayOutputCap("completions", { model: "m", prompt: ["a", "b"], max_tokens: 800 }, standard);
 * // { prompts: 2, n: 1, choices: 2, maxTokens: 500, maxOutputTokens: 1000 }
 * ```
 */
export function relayOutputCap<Op extends "completions" | "chat.completions">(
  operation: Op,
  request: TextRequestOf<Op>,
  tier: TextTierSpec,
): OutputCap {
  const prompts =
    operation === "completions" ? Math.max(1, promptText(request as CompletionRequest).length) : 1;
  const n = typeof request.n === "number" && request.n >= 1 ? request.n : 1;
  const choices = prompts * n;
  const requested =
    operation === "chat.completions"
      ? chatMaxTokens(request as ChatCompletionRequest)
      : (request as CompletionRequest).max_tokens;
  const maxTokens = clampMaxTokens(tier, requested, choices);
  return { prompts, n, choices, maxTokens, maxOutputTokens: maxTokens * choices };
}

/**
 * The budget of a text relay: the input tokens of each prompt and their sum, and the output cap.
 *
 * @example
 * ```ts
 * const budget: TextRelayBudget = {
 *   promptTokens: [12, 9], inputTokens: 21,
 *   prompts: 2, n: 1, choices: 2, maxTokens: 500, maxOutputTokens: 1000,
 * };
 * ```
 */
export interface TextRelayBudget extends OutputCap {
  readonly promptTokens: readonly number[];
  readonly inputTokens: number;
}

/**
 * The one budget rule of a text relay, applied by the gateway's front door, its dispatcher and the
 * node's admission alike: counts every prompt's input with `count` (see `relayInputs` for what
 * counts), checks each prompt against the tier's input limit on its own — a batch of prompts each
 * under the limit is admitted, as batching clients (lm-evaluation-harness) expect — and clamps the
 * output (see {@link relayOutputCap}). Errors: INPUT_TOO_LONG (param `prompt`, or `messages` for
 * chat) when a prompt is over; INVALID_REQUEST, UNSUPPORTED_OPERATION as `checkTextLimits`.
 *
 * @example
 * ```ts
 * const llama = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
 * if (llama.ok) relayBudget("completions", { model: "m", prompt: ["a b", "c"] }, llama.value, tokensAtLeast);
 * // ok: { promptTokens: [2, 1], inputTokens: 3, choices: 2, maxTokens: 500, maxOutputTokens: 1000, … }
 * ```
 */
export function relayBudget<Op extends "completions" | "chat.completions">(
  operation: Op,
  request: TextRequestOf<Op>,
  target: LimitTarget,
  count: TokenCounter,
): Result<TextRelayBudget> {
  return relayBudgetOfCounts(
    operation,
    request,
    target,
    countRelayInput(relayInputs(operation, request), count),
  );
}

/**
 * The most choices one text call may ask for: prompts × `n`. A batch past it is refused
 * (`INVALID_REQUEST`, param `prompt`; `n` alone is at most 128), never clamped: split it into calls.
 * Checking an answer costs per choice, and an answer holds every choice asked for.
 */
export const MAX_RELAY_CHOICES = 4096;

/**
 * {@link relayBudget} with each prompt's input tokens already counted (one per entry of
 * `relayInputs`, in its order): a node that takes a gateway's signed count (`RelayInputCount`)
 * applies the same rule without running its tokenizer.
 *
 * @example
 * ```ts
 * const llama = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
 * if (llama.ok) relayBudgetOfCounts("completions", { model: "m", prompt: ["a b", "c"] }, llama.value, [3, 2]);
 * // ok: { promptTokens: [3, 2], inputTokens: 5, choices: 2, maxTokens: 500, maxOutputTokens: 1000, … }
 * ```
 */
export function relayBudgetOfCounts<Op extends "completions" | "chat.completions">(
  operation: Op,
  request: TextRequestOf<Op>,
  target: LimitTarget,
  promptTokens: readonly number[],
): Result<TextRelayBudget> {
  const tier = tierOfTarget(target);
  if (!isTextTier(tier)) {
    return fail(
      "UNSUPPORTED_OPERATION",
      `${describeTarget(target)} is an image tier; it takes no text calls`,
    );
  }
  // A streamed scoring call, cut short by its client, would be billed by its output tokens, of
  // which it has none (the scored prompt is echoed, not generated): the scoring it delivered
  // would be free. Scoring is offered unary, where the whole call is billed.
  if (
    operation === "completions" &&
    (request as CompletionRequest).echo === true &&
    (request as { stream?: unknown }).stream === true
  ) {
    return fail(
      "UNSUPPORTED_PARAMETER",
      "echo is not offered on a streamed completion: send it with stream: false",
      "echo",
    );
  }
  const cap = relayOutputCap(operation, request, tier);
  if (cap.choices > MAX_RELAY_CHOICES) {
    return fail(
      "INVALID_REQUEST",
      `${cap.prompts} prompts × n=${cap.n} ask for ${cap.choices} choices; one call takes at most ${MAX_RELAY_CHOICES}: split the batch`,
      "prompt",
    );
  }
  // No output asked for is a call only to score the prompt (`echo` on completions). Anything else
  // would reach an engine that may read 0 as "no limit" (Ollama's `num_predict`) and generate
  // unpaid text the answer checks then refuse.
  if (cap.maxTokens === 0 && !(operation === "completions" && (request as CompletionRequest).echo === true)) {
    const requested =
      operation === "chat.completions"
        ? chatMaxTokens(request as ChatCompletionRequest)
        : (request as CompletionRequest).max_tokens;
    // Not the client's 0: the choices share the tier's output limit, less than a token each.
    if (requested !== 0) {
      return fail(
        "INVALID_REQUEST",
        `${cap.choices} choices (prompts × n) share the ${tier.limits.maxOutputTokens} output tokens ${describeTarget(target)} allows per call, less than one each: split the batch into calls of at most ${tier.limits.maxOutputTokens} choices`,
        operation === "chat.completions" ? "n" : "prompt",
      );
    }
    return fail(
      "INVALID_REQUEST",
      operation === "chat.completions"
        ? "max_tokens must be at least 1 for a chat completion"
        : "max_tokens 0 asks for no output: send echo: true to score the prompt, or ask for at least 1 token",
      "max_tokens",
    );
  }
  const limit = tier.limits.maxInputTokens;
  const over = promptTokens.findIndex((tokens) => tokens > limit);
  if (over >= 0) {
    const chat = operation === "chat.completions";
    const what = chat
      ? "messages, tools and response format have"
      : promptTokens.length > 1
        ? `prompt ${over} of the batch has`
        : "prompt has";
    return fail(
      "INPUT_TOO_LONG",
      `${what} ${promptTokens[over]} input tokens; ${describeTarget(target)} allows ${limit} per prompt`,
      chat ? "messages" : "prompt",
    );
  }
  const largest = promptTokens.reduce((a, b) => Math.max(a, b), 0);
  const checked = checkTextLimits(target, {
    inputTokens: largest,
    maxTokens: cap.maxTokens,
    choices: cap.choices,
  });
  if (!checked.ok) return checked;
  return ok({ ...cap, promptTokens, inputTokens: promptTokens.reduce((a, b) => a + b, 0) });
}
