import { z } from "zod";

/**
 * `stop`: one stop sequence or up to four (OpenAI's limit), or null.
 *
 * @example
 * ```ts
 * StopSequences.parse(["\n\n", "###"]);
 * ```
 */
export const StopSequences = z.union([z.string(), z.array(z.string()).max(4)], {
  error: "stop must be a string or an array of up to 4 strings",
});

/** A parsed {@link StopSequences}. */
export type StopSequences = z.infer<typeof StopSequences>;

/**
 * `stream_options`: with `include_usage: true` a stream ends with a chunk carrying `usage` (and no
 * choices); every earlier chunk carries `usage: null`. A gateway writes that chunk last, once the
 * node's signed usage has come, with the usage it counted and charges (see {@link CompletionUsage}).
 *
 * @example
 * ```ts
 * StreamOptions.parse({ include_usage: true });
 * ```
 */
export const StreamOptions = z.looseObject({ include_usage: z.boolean().nullish() });

/** A parsed {@link StreamOptions}. */
export type StreamOptions = z.infer<typeof StreamOptions>;

const tokenCount = z.number().int().nonnegative();

/**
 * Token usage of a completion or chat completion; `total_tokens` = prompt + completion. What a
 * client reads from a gateway are the tokens it counts against the key and charges: the node's
 * signed usage, never above the gateway's own count of the request and the delivered text, rather
 * than the engine's or the node's own figures (an engine's `prompt_tokens` may also count its chat
 * template). Of the node's `prompt_tokens_details` and `completion_tokens_details` only counts
 * stay, each at most the total it details; other members are dropped. An embeddings answer's
 * `prompt_tokens` and `total_tokens` are the counted input the same way; `/v1/responses` reports
 * the same numbers as `input_tokens`, `output_tokens` and `total_tokens`.
 *
 * @example
 * ```ts
 * CompletionUsage.parse({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });
 * ```
 */
export const CompletionUsage = z.looseObject({
  prompt_tokens: tokenCount,
  completion_tokens: tokenCount,
  total_tokens: tokenCount,
});

/** A parsed {@link CompletionUsage}. */
export type CompletionUsage = z.infer<typeof CompletionUsage>;

/**
 * Why a choice stopped: a stop sequence or end of text (`stop`), the token limit (`length`), a
 * filter (`content_filter`), or a tool call (`tool_calls`, chat only).
 *
 * @example
 * ```ts
 * FinishReason.parse("length");
 * ```
 */
export const FinishReason = z.enum(["stop", "length", "content_filter", "tool_calls"]);

/** A parsed {@link FinishReason}. */
export type FinishReason = z.infer<typeof FinishReason>;

/**
 * Sampling fields shared by `/v1/completions` and `/v1/chat/completions`, with OpenAI's ranges,
 * plus the vLLM extras `top_k` (-1 = off) and `ignore_eos`. Every field may be null, as the API
 * allows.
 */
export const samplingFields = {
  model: z.string().min(1),
  max_tokens: z.number().int().nonnegative().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions.nullish(),
  stop: StopSequences.nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  user: z.string().nullish(),
  top_k: z.number().int().min(-1).nullish(),
  ignore_eos: z.boolean().nullish(),
};
