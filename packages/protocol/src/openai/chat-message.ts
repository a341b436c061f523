import { z } from "zod";

/**
 * A text part of a message's content array: `{ type: "text", text }`. Pocket AI's text services
 * take text only; an `image_url` part is refused at `messages.N.content.M.type`.
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
 * calls) and `tool` (the result of a tool call, with `tool_call_id`).
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
    content: ChatContent.nullish(),
    name,
    tool_calls: z.array(ChatToolCall).nullish(),
    refusal: z.string().nullish(),
  }),
  z.looseObject({ role: z.literal("tool"), content: ChatContent, tool_call_id: z.string() }),
]);

/** A parsed {@link ChatMessage}. */
export type ChatMessage = z.infer<typeof ChatMessage>;
