import type { TrafficShape } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { PromptLogprobsUnsupported } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import type { ProbeTexts } from "../probe-text/probe-texts.js";
import { shapedBody } from "../runs/probe-shape.js";
import type { Rng } from "../runs/rng.js";
import { continuationLogprob } from "../scoring/loglikelihood.js";

/** A completion and its mean per-token log-probability under a reference model. */
export interface ScoredSample {
  readonly completion: string;
  readonly meanLogprob: number;
}

/** A customer shape to send a probe in, and the length of its system message when it has one. */
export interface CustomerShape {
  readonly shape: TrafficShape;
  readonly rng: Rng;
  readonly systemChars?: number | undefined;
  /** The pools its system message is drawn from (public defaults when unset). */
  readonly texts?: ProbeTexts | undefined;
}

/**
 * A seeded, sampled (temperature 1) completion of a fingerprint prompt. Nodes answering from one
 * backend give identical text for the same prompt and seed; two different models — even close
 * ones, which often agree greedily — diverge as soon as one sampled token differs.
 */
export function fingerprintProbe(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  prompt: string,
  seed: number,
  shape?: CustomerShape,
) {
  if (shape !== undefined) return sampleCompletion(transport, node, prompt, seed, shape);
  return transport
    .completions(
      { model: node.model, prompt, max_tokens: 32, temperature: 1, top_p: 1, seed },
      { node: node.address },
    )
    .pipe(Effect.map((o) => o.text));
}

/**
 * A sampled completion (temperature 1): one draw from the node's distribution over continuations.
 * With a customer `shape` (covert runs) the draw is made in that shape instead; the reference's
 * paired sample is drawn in the same shape, so the test compares like with like.
 */
export function sampleCompletion(
  transport: ProbeTransportShape,
  target: { address?: string | undefined; model: string },
  prompt: string,
  seed: number,
  shape?: CustomerShape,
) {
  if (shape !== undefined) {
    const body = shapedBody(shape.shape, target.model, prompt, shape.rng, {
      systemChars: shape.systemChars,
      texts: shape.texts,
    });
    if (shape.shape.seed) body.seed = seed;
    const options = { stream: shape.shape.stream };
    return shape.shape.operation === "chat.completions"
      ? transport.chat(body, { node: target.address }, options).pipe(Effect.map((o) => o.content))
      : transport.completions(body, { node: target.address }, options).pipe(Effect.map((o) => o.text));
  }
  return transport
    .completions(
      { model: target.model, prompt, max_tokens: 12, temperature: 1, top_p: 1, seed },
      { node: target.address },
    )
    .pipe(Effect.map((o) => o.text));
}

/**
 * What an empty completion scores: far below any real mean log-probability per token, so a node
 * answering nothing looks least like the declared model rather than best (a mean over no tokens).
 */
export const EMPTY_COMPLETION_LOGPROB = -30;

/**
 * Scores `completion` after `prompt` with the reference model (echo + logprobs) and returns the
 * mean log-probability per token. The reference is the judge for both samples of the test, so
 * the node's own logprobs (which a cheating node could fake) are never used.
 */
export function scoreUnderReference(
  reference: ProbeTransportShape,
  target: { address?: string | undefined; model: string },
  prompt: string,
  completion: string,
) {
  return Effect.gen(function* () {
    const outcome = yield* reference.completions(
      {
        model: target.model,
        prompt: prompt + completion,
        max_tokens: 1,
        echo: true,
        logprobs: 1,
        temperature: 0,
      },
      { node: target.address },
    );
    if (completion === "") return EMPTY_COMPLETION_LOGPROB;
    const sum = continuationLogprob(outcome, prompt, completion);
    if (sum instanceof PromptLogprobsUnsupported) return yield* sum;
    const tokens = (outcome.logprobs?.textOffset ?? []).filter(
      (o) => o >= prompt.length && o < prompt.length + completion.length,
    ).length;
    return sum / Math.max(1, tokens);
  });
}
