import type { z } from "zod";
import { canonicalJson } from "../encoding/canonical.js";
import type { ChatCompletionRequest } from "../openai/chat-request.js";
import type { CompletionRequest } from "../openai/completion-request.js";
import { chatPromptText, type PromptInput, promptText } from "../openai/prompt-text.js";

/**
 * The text operations a budget applies to, with their request types: a body that passed the
 * operation's schema (parsed, or as the client sent it).
 *
 * @example
 * ```ts
 * const request: TextRequestOf<"completions"> = { model: "llama-2-13b", prompt: "Hi" };
 * ```
 */
export type TextRequestOf<Op extends "completions" | "chat.completions"> = Op extends "completions"
  ? z.input<typeof CompletionRequest>
  : z.input<typeof ChatCompletionRequest>;

/**
 * Counts the tokens of one text. The node passes its real tokenizer; the gateway, which has none,
 * passes one of the bounds of `token-bounds.ts`. Token ids are never passed: they count as they are.
 *
 * @example
 * ```ts
 * const count: TokenCounter = (text) => tokenizer.encode(text).length;
 * ```
 */
export type TokenCounter = (text: string) => number;

/**
 * What one prompt gives the model to read: texts to tokenize and token ids that count as they are.
 * A completions batch has one per prompt; a chat has exactly one.
 *
 * @example
 * ```ts
 * const prompt: RelayInput = [{ text: "Once upon a time" }, { text: " the end." }];
 * ```
 */
export type RelayInput = readonly PromptInput[];

/** Tool and response schemas of a chat, in canonical JSON, as the model's template receives them. */
function chatSchemaTexts(request: Pick<ChatCompletionRequest, "tools" | "response_format">): string[] {
  const texts: string[] = [];
  for (const tool of request.tools ?? []) texts.push(canonicalJson(tool));
  // The deprecated `functions` field is still sent by older clients and reaches the engine.
  const functions = (request as { functions?: unknown }).functions;
  if (Array.isArray(functions)) for (const fn of functions) texts.push(canonicalJson(fn));
  const format = request.response_format;
  if (format?.type === "json_schema" && format.json_schema !== undefined) {
    texts.push(canonicalJson(format.json_schema));
  }
  return texts;
}

/**
 * Everything of a text request that becomes prompt, one entry per prompt. What counts:
 *
 * - completions: each prompt of a batch on its own (a string, or token ids), with `suffix` (fill-in
 *   the middle: the engine reads it too) added to every prompt;
 * - chat: one prompt made of the conversation flattened by `chatPromptText` (every message's
 *   content, the assistant's tool calls), then each tool's or legacy function's schema, then the
 *   `response_format` JSON schema — engines render these into the prompt, so a request cannot
 *   hide input in them. Schemas count in canonical JSON (sorted keys, no spaces), so every reader
 *   of the same request counts the same text.
 *
 * Stop sequences do not count: engines match them against the output; they never reach the prompt.
 *
 * @example
 * ```ts
 * relayInputs("completions", { model: "m", prompt: ["a", "b"] }); // [[{ text: "a" }], [{ text: "b" }]]
 * relayInputs("chat.completions", { model: "m", messages: [{ role: "user", content: "Hi" }] });
 * // [[{ text: "user: Hi" }]]
 * ```
 */
export function relayInputs<Op extends "completions" | "chat.completions">(
  operation: Op,
  request: TextRequestOf<Op>,
): RelayInput[] {
  if (operation === "completions") {
    const completion = request as Pick<CompletionRequest, "prompt" | "suffix">;
    // Defensive: an unvalidated request without prompts counts as none rather than throwing.
    if (typeof completion.prompt !== "string" && !Array.isArray(completion.prompt)) return [];
    const suffix = typeof completion.suffix === "string" && completion.suffix !== "" ? completion.suffix : "";
    return promptText(completion).map((prompt) => (suffix === "" ? [prompt] : [prompt, { text: suffix }]));
  }
  const chat = request as Pick<ChatCompletionRequest, "messages" | "tools" | "response_format">;
  if (!Array.isArray(chat.messages)) return [[{ text: "" }]];
  const text = [chatPromptText(chat.messages), ...chatSchemaTexts(chat)].join("\n");
  return [[{ text }]];
}

/**
 * The input tokens of each prompt, counted with `count` (token ids count as they are).
 *
 * @example
 * ```ts
 * const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
 * countRelayInput(relayInputs("completions", { model: "m", prompt: ["a b", "c"] }), words); // [2, 1]
 * ```
 */
export function countRelayInput(inputs: readonly RelayInput[], count: TokenCounter): number[] {
  return inputs.map((prompt) => {
    let total = 0;
    for (const part of prompt) total += "text" in part ? count(part.text) : part.tokenIds.length;
    return total;
  });
}
