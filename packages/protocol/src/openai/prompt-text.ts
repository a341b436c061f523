import { type ChatMessage, chatPartAsText } from "./chat-message.js";
import type { CompletionRequest } from "./completion-request.js";

/**
 * One prompt of a completion request, as a tokenizer sees it: text to tokenize, or token ids that
 * count as they are.
 *
 * @example
 * ```ts
 * const input: PromptInput = { text: "Hello" };
 * ```
 */
export type PromptInput = { readonly text: string } | { readonly tokenIds: readonly number[] };

/**
 * The prompts of a `/v1/completions` request, one entry per prompt (a string prompt gives one
 * `{ text }`; a string array one per element; token ids `{ tokenIds }`). Count input tokens by
 * tokenizing each text separately and adding the token-id lengths — see {@link countPromptTokens}.
 *
 * @example
 * ```ts
 * promptText({ prompt: ["a", "b"] }); // [{ text: "a" }, { text: "b" }]
 * ```
 */
export function promptText(request: Pick<CompletionRequest, "prompt">): PromptInput[] {
  const prompt = request.prompt;
  if (typeof prompt === "string") return [{ text: prompt }];
  if (prompt.length === 0) return [];
  if (typeof prompt[0] === "number") return [{ tokenIds: prompt as number[] }];
  return (prompt as (string | number[])[]).map((item) =>
    typeof item === "string" ? { text: item } : { tokenIds: item },
  );
}

/**
 * Total input tokens of a set of prompts, given a tokenizer's count function. The gateway and the
 * node use the same count so they agree on the limit check.
 *
 * @example
 * ```ts
 * countPromptTokens(promptText(request), (text) => tokenizer.encode(text).length);
 * ```
 */
export function countPromptTokens(
  prompts: readonly PromptInput[],
  countTokens: (text: string) => number,
): number {
  let total = 0;
  for (const prompt of prompts) total += "text" in prompt ? countTokens(prompt.text) : prompt.tokenIds.length;
  return total;
}

function contentText(content: ChatMessage["content"]): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => chatPartAsText(part).text).join("\n");
}

/**
 * The chat as one deterministic text, for counting input tokens (not for generation: the node's
 * backend applies its model's own chat template). The flattening is fixed by the protocol so that
 * the gateway and every node count the same, whatever model a node runs (quality-tier services may
 * run any model, so no model's template can be the reference). Each message becomes one block
 * `"<role>: <text>"`, blocks are joined by `"\n"`, and the text is the content (text parts, and an
 * assistant's refusal parts as text, joined by `"\n"`), followed for assistant tool calls by
 * `"<name>(<arguments>)"` lines. A model's real template adds a few marker tokens per message; tier
 * limits absorb that difference.
 *
 * @example
 * ```ts
 * chatPromptText([{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]);
 * // "system: Be brief.\nuser: Hi"
 * ```
 */
export function chatPromptText(messages: readonly ChatMessage[]): string {
  return messages
    .map((message) => {
      const parts = [contentText(message.content)];
      if (message.role === "assistant") {
        for (const call of message.tool_calls ?? [])
          parts.push(`${call.function.name}(${call.function.arguments})`);
      }
      return `${message.role}: ${parts.filter((part) => part !== "").join("\n")}`;
    })
    .join("\n");
}
