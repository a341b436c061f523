import { PromptLogprobsUnsupported } from "../errors.js";
import type { CompletionOutcome } from "../probe/probe-transport.js";

/**
 * Sum of the log-probabilities of the continuation's tokens, read from an `echo` + `logprobs`
 * completion of `context + continuation`: the tokens whose text offset falls in the continuation.
 * A backend that ignores `echo` or returns no prompt logprobs fails with
 * `PromptLogprobsUnsupported` — the item is not scored, rather than scored at chance.
 */
export function continuationLogprob(
  outcome: CompletionOutcome,
  context: string,
  continuation: string,
): number | PromptLogprobsUnsupported {
  const prompt = context + continuation;
  if (!outcome.text.startsWith(prompt)) {
    return new PromptLogprobsUnsupported({ reason: "the response does not echo the prompt" });
  }
  const lp = outcome.logprobs;
  if (lp === null || lp.tokens.length === 0) {
    return new PromptLogprobsUnsupported({ reason: "the response has no logprobs" });
  }
  let sum = 0;
  let counted = 0;
  for (let i = 0; i < lp.tokens.length; i++) {
    const offset = lp.textOffset[i] ?? -1;
    if (offset < context.length || offset >= prompt.length) continue;
    const value = lp.tokenLogprobs[i];
    if (value === null || value === undefined || !Number.isFinite(value)) {
      return new PromptLogprobsUnsupported({ reason: "a prompt token has no logprob" });
    }
    sum += value;
    counted += 1;
  }
  if (counted === 0) return new PromptLogprobsUnsupported({ reason: "no continuation token was scored" });
  return sum;
}

const argmax = (values: readonly number[]) =>
  values.reduce((best, v, i) => (v > (values[best] ?? Number.NEGATIVE_INFINITY) ? i : best), 0);

/**
 * lm-evaluation-harness's `acc` (highest total log-probability is the gold choice) and `acc_norm`
 * (the same after dividing by the continuation's length in characters, which removes the bias
 * toward short answers).
 */
export function multipleChoiceScores(
  logprobs: readonly number[],
  continuations: readonly string[],
  gold: number,
): { readonly acc: number; readonly accNorm: number } {
  const normalised = logprobs.map((lp, i) => lp / Math.max(1, (continuations[i] ?? "").length));
  return { acc: argmax(logprobs) === gold ? 1 : 0, accNorm: argmax(normalised) === gold ? 1 : 0 };
}
