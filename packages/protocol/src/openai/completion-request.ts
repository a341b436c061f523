import { z } from "zod";
import { samplingFields } from "./common-fields.js";

const tokenIds = z.array(z.number().int().nonnegative()).min(1);

/**
 * `prompt` of `/v1/completions`: a string, several strings (one completion each), token ids, or
 * several token-id arrays.
 *
 * @example
 * ```ts
 * CompletionPrompt.parse([1, 15043, 3186]);
 * ```
 */
export const CompletionPrompt = z.union(
  [z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)],
  {
    error:
      "prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays",
  },
);

/** A parsed {@link CompletionPrompt}. */
export type CompletionPrompt = z.infer<typeof CompletionPrompt>;

/**
 * Body of `POST /v1/completions` as the official `openai` client and vLLM clients send it. Known
 * fields are type-checked; unknown fields survive parsing (forwarded to the node's backend).
 * `logprobs` is the number of top alternatives per token (0..20) — with `echo: true` and
 * `max_tokens: 0` it returns the prompt's logprobs, which the evaluator scores with.
 *
 * @example
 * ```ts
 * CompletionRequest.parse({
 *   model: "llama-2-13b", prompt: "Who won the world series in 2020?", max_tokens: 200, seed: 1,
 * });
 * ```
 */
export const CompletionRequest = z.looseObject({
  ...samplingFields,
  prompt: CompletionPrompt,
  // `false` is what clients copying vLLM examples send for "no logprobs"; it means the same as null.
  logprobs: z
    .union([z.number().int().min(0).max(20), z.literal(false)])
    .nullish()
    .transform((value) => (value === false ? null : value)),
  echo: z.boolean().nullish(),
  best_of: z.number().int().min(1).max(20).nullish(),
  suffix: z.string().nullish(),
});

/** A parsed {@link CompletionRequest}. */
export type CompletionRequest = z.infer<typeof CompletionRequest>;
