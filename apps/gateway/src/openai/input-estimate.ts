import { chatPromptText, type OpenAIRequestOf, type PromptInput, promptText } from "@pocket-ai/protocol";

/**
 * The gateway has no tokenizer of its own (a quality service may be served by any model), so it
 * bounds a prompt's input tokens from both sides instead of guessing:
 *
 * - lower bound: the number of white-space separated words. SentencePiece (Llama, Mistral) and
 *   byte-level BPE tokenizers (GPT-2/tiktoken style) all split on white space before merging, so
 *   no token spans two words and a prompt has at least as many tokens as words. The gateway
 *   refuses with INPUT_TOO_LONG only when this bound is over the tier's limit, so it never refuses
 *   a prompt the node (which counts exactly) would accept. Prompts between the bound and the real
 *   count reach the node, which refuses them before any work (no charge: the reservation is
 *   released).
 * - upper bound: the UTF-8 byte count plus one (every token is at least one byte; one BOS
 *   marker). Token ids count exactly.
 */
export interface InputEstimate {
  readonly atLeast: number;
  readonly atMost: number;
}

const WORD = /\S+/g;
const encoder = new TextEncoder();

function wordCount(text: string): number {
  let n = 0;
  WORD.lastIndex = 0;
  while (WORD.exec(text) !== null) n++;
  return n;
}

function estimatePrompts(prompts: readonly PromptInput[]): InputEstimate {
  let atLeast = 0;
  let atMost = 0;
  for (const prompt of prompts) {
    if ("tokenIds" in prompt) {
      atLeast += prompt.tokenIds.length;
      atMost += prompt.tokenIds.length;
    } else {
      atLeast += wordCount(prompt.text);
      atMost += encoder.encode(prompt.text).length + 1;
    }
  }
  return { atLeast, atMost };
}

/** Bounds of the input tokens of a `/v1/completions` request (all prompts together). */
export function completionInputEstimate(request: OpenAIRequestOf<"completions">): InputEstimate {
  return estimatePrompts(promptText(request));
}

/** Bounds of the input tokens of a chat request, over the protocol's flattened chat text. */
export function chatInputEstimate(request: OpenAIRequestOf<"chat.completions">): InputEstimate {
  return estimatePrompts([{ text: chatPromptText(request.messages) }]);
}
