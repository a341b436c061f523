import { z } from "zod";

/**
 * A text part of a message's content array: `{ type: "text", text }`. Pocket AI's text services
 * take text only; an `image_url` part is refused at `messages[N].content[M].type`.
 *
 * @example
 * ```ts
 * ChatTextPart.parse({ type: "text", text: "Summarize this:" });
 * ```
 */
export const ChatTextPart = z.looseObject({ type: z.literal("text"), text: z.string() });

/** A parsed {@link ChatTextPart}. */
export type ChatTextPart = z.infer<typeof ChatTextPart>;

/**
 * A message's content: a string or an array of text parts.
 *
 * @example
 * ```ts
 * ChatContent.parse([{ type: "text", text: "Hello" }]);
 * ```
 */
export const ChatContent = z.union([z.string(), z.array(ChatTextPart)], {
  error: "content must be a string or an array of text parts",
});

/** A parsed {@link ChatContent}. */
export type ChatContent = z.infer<typeof ChatContent>;

/**
 * A refusal part of an assistant turn's content: `{ type: "refusal", refusal }`, an earlier answer's
 * refusal as OpenAI's API and SDK send it back. Read as a text part of the same words in the same
 * place ({@link chatPartAsText}): the turn's text to every engine and to token counts and limits.
 *
 * @example
 * ```ts
 * ChatRefusalPart.parse({ type: "refusal", refusal: "I can't help with that." });
 * ```
 */
export const ChatRefusalPart = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });

/** A parsed {@link ChatRefusalPart}. */
export type ChatRefusalPart = z.infer<typeof ChatRefusalPart>;

/**
 * An assistant turn's content: a string or an array of text and refusal parts.
 *
 * @example
 * ```ts
 * ChatAssistantContent.parse([{ type: "refusal", refusal: "No." }, { type: "text", text: "Ask me another." }]);
 * ```
 */
export const ChatAssistantContent = z.union(
  [z.string(), z.array(z.discriminatedUnion("type", [ChatTextPart, ChatRefusalPart]))],
  { error: "content must be a string or an array of text and refusal parts" },
);

/** A parsed {@link ChatAssistantContent}. */
export type ChatAssistantContent = z.infer<typeof ChatAssistantContent>;

/**
 * A content part as text: a text part as it is, a refusal part as a text part of its words. The
 * one rule for a refusal part wherever a chat turns into what an engine reads or a tokenizer counts.
 *
 * @example
 * ```ts
 * chatPartAsText({ type: "refusal", refusal: "No." }); // { type: "text", text: "No." }
 * ```
 */
export function chatPartAsText(part: ChatTextPart | ChatRefusalPart): { type: "text"; text: string } {
  return { type: "text", text: part.type === "refusal" ? part.refusal : part.text };
}

/**
 * A tool call an assistant made, as echoed back in later requests. Its `function.arguments` is a
 * JSON string.
 *
 * @example
 * ```ts
 * ChatToolCall.parse({ id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } });
 * ```
 */
export const ChatToolCall = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

/** A parsed {@link ChatToolCall}. */
export type ChatToolCall = z.infer<typeof ChatToolCall>;

const name = z.string().nullish();

/**
 * One message of `/v1/chat/completions`, told apart by `role`: `system`, `developer` (the newer
 * name for system instructions), `user`, `assistant` (content may be null when it made tool
 * calls, and may hold refusal parts: {@link ChatAssistantContent}) and `tool` (the result of a tool call, with `tool_call_id`).
 *
 * @example
 * ```ts
 * ChatMessage.parse({ role: "user", content: "Who won the world series in 2020?" });
 * ```
 */
export const ChatMessage = z.discriminatedUnion("role", [
  z.looseObject({ role: z.literal("system"), content: ChatContent, name }),
  z.looseObject({ role: z.literal("developer"), content: ChatContent, name }),
  z.looseObject({ role: z.literal("user"), content: ChatContent, name }),
  z.looseObject({
    role: z.literal("assistant"),
    content: ChatAssistantContent.nullish(),
    name,
    tool_calls: z.array(ChatToolCall).nullish(),
    refusal: z.string().nullish(),
  }),
  z.looseObject({ role: z.literal("tool"), content: ChatContent, tool_call_id: z.string() }),
]);

/** A parsed {@link ChatMessage}. */
export type ChatMessage = z.infer<typeof ChatMessage>;
