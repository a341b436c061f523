import { z } from "zod";
import { ChatMessage } from "./chat-message.js";
import { samplingFields } from "./common-fields.js";

/**
 * `response_format` of a chat request: plain text, any JSON object, or JSON matching a schema.
 * Whether a node's backend honours it is the backend's matter; the schema only checks the shape.
 *
 * @example
 * ```ts
 * ChatResponseFormat.parse({ type: "json_object" });
 * ```
 */
export const ChatResponseFormat = z.looseObject({
  type: z.enum(["text", "json_object", "json_schema"]),
  json_schema: z.looseObject({ name: z.string() }).optional(),
});

/** A parsed {@link ChatResponseFormat}. */
export type ChatResponseFormat = z.infer<typeof ChatResponseFormat>;

/**
 * Body of `POST /v1/chat/completions` as the official `openai` client sends it. Both
 * `max_tokens` and its newer name `max_completion_tokens` are accepted (the smaller wins when both
 * are set — see {@link chatMaxTokens}); the schema takes `tools` and `tool_choice` as sent. Whether
 * they add up (a chosen function among `tools`, each tool message answering an earlier call) is
 * checked by the Pocket AI gateway before it relays (`docs/gateway.md`, the tool checks).
 *
 * @example
 * ```ts
 * ChatCompletionRequest.parse({
 *   model: "quality-gpt-3.5",
 *   messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
 *   stream: true, stream_options: { include_usage: true },
 * });
 * ```
 */
export const ChatCompletionRequest = z.looseObject({
  ...samplingFields,
  messages: z.array(ChatMessage).min(1),
  max_completion_tokens: z.number().int().nonnegative().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: ChatResponseFormat.nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
});

/** A parsed {@link ChatCompletionRequest}. */
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/**
 * The output-token cap a chat request asks for: the smaller of `max_completion_tokens` and
 * `max_tokens` when both are set, either one when only one is, `undefined` when neither is.
 *
 * @example
 * ```ts
 * chatMaxTokens({ max_tokens: 500, max_completion_tokens: 300 }); // 300
 * ```
 */
export function chatMaxTokens(
  request: Pick<ChatCompletionRequest, "max_tokens" | "max_completion_tokens">,
): number | undefined {
  const values = [request.max_tokens, request.max_completion_tokens].filter(
    (value): value is number => typeof value === "number",
  );
  return values.length === 0 ? undefined : Math.min(...values);
}
