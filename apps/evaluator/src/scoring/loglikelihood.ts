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
  const tokens = continuationTokenLogprobs(outcome, context, continuation);
  if (tokens instanceof PromptLogprobsUnsupported) return tokens;
  return tokens.reduce((a, b) => a + b, 0);
}

/** The log-probabilities of the continuation's tokens (see `continuationLogprob`). */
export function continuationTokenLogprobs(
  outcome: CompletionOutcome,
  context: string,
  continuation: string,
): number[] | PromptLogprobsUnsupported {
  const prompt = context + continuation;
  if (!outcome.text.startsWith(prompt)) {
    return new PromptLogprobsUnsupported({ reason: "the response does not echo the prompt" });
  }
  const lp = outcome.logprobs;
  if (lp === null || lp.tokens.length === 0) {
    return new PromptLogprobsUnsupported({ reason: "the response has no logprobs" });
  }
  const values: number[] = [];
  for (let i = 0; i < lp.tokens.length; i++) {
    const offset = lp.textOffset[i] ?? -1;
    if (offset < context.length || offset >= prompt.length) continue;
    const value = lp.tokenLogprobs[i];
    if (value === null || value === undefined || !Number.isFinite(value)) {
      return new PromptLogprobsUnsupported({ reason: "a prompt token has no logprob" });
    }
    values.push(value);
  }
  if (values.length === 0)
    return new PromptLogprobsUnsupported({ reason: "no continuation token was scored" });
  return values;
}

/** The index of the largest value; ties are broken at random (`tieBreak` in [0, 1)), never toward the first. */
export function argmaxRandomTies(values: readonly number[], tieBreak: number): number {
  const best = Math.max(...values);
  const top = values.flatMap((v, i) => (v === best ? [i] : []));
  return top[Math.min(top.length - 1, Math.floor(tieBreak * top.length))] ?? 0;
}

/**
 * lm-evaluation-harness's `acc` (highest total log-probability is the gold choice) and `acc_norm`
 * (the same after dividing by the choice's length in characters — the choice itself, without the
 * target delimiter — which removes the bias toward short answers). Ties go to a random one of the
 * tied choices (`tieBreak`, drawn from the run's seed): a node answering every choice alike scores
 * at chance, not at the share of gold answers listed first.
 */
export function multipleChoiceScores(
  logprobs: readonly number[],
  choices: readonly string[],
  gold: number,
  tieBreak: number,
): { readonly acc: number; readonly accNorm: number } {
  const normalised = logprobs.map((lp, i) => lp / Math.max(1, (choices[i] ?? "").length));
  return {
    acc: argmaxRandomTies(logprobs, tieBreak) === gold ? 1 : 0,
    accNorm: argmaxRandomTies(normalised, tieBreak) === gold ? 1 : 0,
  };
}

/**
 * Made-up prompt logprobs: every scored token of every choice carries the same value (real models
 * never assign one number to all tokens of several different texts).
 */
export function constantLogprobs(tokenLogprobs: readonly (readonly number[])[]): boolean {
  const all = tokenLogprobs.flat();
  return all.length >= 4 && all.every((v) => v === all[0]);
}
