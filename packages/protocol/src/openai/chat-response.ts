import { z } from "zod";
import { ChatToolCall } from "./chat-message.js";
import { CompletionUsage, FinishReason } from "./common-fields.js";

const tokenLogprob = z.looseObject({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()).nullish(),
});

/**
 * Chat logprobs: per generated token, its logprob and the `top_logprobs` alternatives.
 *
 * @example
 * ```ts
 * ChatLogprobs.parse({ content: [{ token: "Hi", logprob: -0.1, bytes: [72, 105], top_logprobs: [] }] });
 * ```
 */
export const ChatLogprobs = z.looseObject({
  content: z.array(tokenLogprob.extend({ top_logprobs: z.array(tokenLogprob) })).nullable(),
});

/** A parsed {@link ChatLogprobs}. */
export type ChatLogprobs = z.infer<typeof ChatLogprobs>;

/**
 * Response of `POST /v1/chat/completions`.
 *
 * @example
 * ```ts
 * ChatCompletionResponse.parse({
 *   id: "chatcmpl-1", object: "chat.completion", created: 1_700_000_000, model: "quality-gpt-3.5:standard",
 *   choices: [{ index: 0, message: { role: "assistant", content: "Hi!" }, finish_reason: "stop", logprobs: null }],
 *   usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
 * });
 * ```
 */
export const ChatCompletionResponse = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int().nonnegative(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      message: z.looseObject({
        role: z.literal("assistant"),
        content: z.string().nullable(),
        tool_calls: z.array(ChatToolCall).nullish(),
        refusal: z.string().nullish(),
      }),
      finish_reason: FinishReason.nullable(),
      logprobs: ChatLogprobs.nullish(),
    }),
  ),
  usage: CompletionUsage.optional(),
  system_fingerprint: z.string().nullish(),
});

/** A parsed {@link ChatCompletionResponse}. */
export type ChatCompletionResponse = z.infer<typeof ChatCompletionResponse>;

/**
 * One streamed event of `/v1/chat/completions`: each choice carries a `delta` (the first has
 * `role: "assistant"`, later ones `content` pieces); with `include_usage` the last chunk has
 * `choices: []` and `usage`, earlier ones `usage: null`.
 *
 * @example
 * ```ts
 * ChatCompletionChunk.parse({
 *   id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "skill-coding:standard",
 *   choices: [{ index: 0, delta: { content: "def" }, finish_reason: null }], usage: null,
 * });
 * ```
 */
export const ChatCompletionChunk = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int().nonnegative(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative(),
      delta: z.looseObject({
        role: z.literal("assistant").optional(),
        content: z.string().nullish(),
        tool_calls: z.array(z.looseObject({ index: z.number().int().nonnegative() })).nullish(),
        refusal: z.string().nullish(),
      }),
      finish_reason: FinishReason.nullable(),
      logprobs: ChatLogprobs.nullish(),
    }),
  ),
  usage: CompletionUsage.nullish(),
  system_fingerprint: z.string().nullish(),
});

/** A parsed {@link ChatCompletionChunk}. */
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;
