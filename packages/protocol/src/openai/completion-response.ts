import { z } from "zod";
import { CompletionUsage, FinishReason } from "./common-fields.js";

/**
 * Legacy per-token logprobs of `/v1/completions`. With `echo` the first prompt token has
 * `token_logprobs[0] === null` and `top_logprobs[0] === null` (nothing precedes it).
 *
 * @example
 * ```ts
 * CompletionLogprobs.parse({
 *   tokens: ["Hello", " world"], token_logprobs: [null, -1.2],
 *   top_logprobs: [null, { " world": -1.2 }], text_offset: [0, 5],
 * });
 * ```
 */
export const CompletionLogprobs = z.looseObject({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullish(),
  text_offset: z.array(z.number().int().nonnegative()),
});

/** A parsed {@link CompletionLogprobs}. */
export type CompletionLogprobs = z.infer<typeof CompletionLogprobs>;

const completionChoice = z.looseObject({
  index: z.number().int().nonnegative(),
  text: z.string(),
  logprobs: CompletionLogprobs.nullish(),
  finish_reason: FinishReason.nullable(),
});

/**
 * Response of `POST /v1/completions`.
 *
 * @example
 * ```ts
 * CompletionResponse.parse({
 *   id: "cmpl-1", object: "text_completion", created: 1_700_000_000, model: "llama-2-13b:standard",
 *   choices: [{ index: 0, text: "The Dodgers.", logprobs: null, finish_reason: "stop" }],
 *   usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
 * });
 * ```
 */
export const CompletionResponse = z.looseObject({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number().int().nonnegative(),
  model: z.string(),
  choices: z.array(completionChoice),
  usage: CompletionUsage.optional(),
  system_fingerprint: z.string().nullish(),
});

/** A parsed {@link CompletionResponse}. */
export type CompletionResponse = z.infer<typeof CompletionResponse>;

/**
 * One streamed event of `/v1/completions` (`stream: true`): the same `object` as the full
 * response; `finish_reason` is null until the choice's last chunk; with `include_usage` a final
 * chunk has no choices and carries `usage`.
 *
 * @example
 * ```ts
 * CompletionChunk.parse({
 *   id: "cmpl-1", object: "text_completion", created: 1_700_000_000, model: "llama-2-13b:standard",
 *   choices: [{ index: 0, text: " Dodgers", logprobs: null, finish_reason: null }], usage: null,
 * });
 * ```
 */
export const CompletionChunk = z.looseObject({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number().int().nonnegative(),
  model: z.string(),
  choices: z.array(completionChoice),
  usage: CompletionUsage.nullish(),
});

/** A parsed {@link CompletionChunk}. */
export type CompletionChunk = z.infer<typeof CompletionChunk>;
