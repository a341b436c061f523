import type { ChatMessage } from "./chat-template.js";
import type { StreamedToken } from "./completion-buffer.js";
import type { Sleep } from "./sleep.js";
import type { TextCompletionRequest } from "./text-request.js";

/** The public shapes of the development text engine, in OpenAI /v1/completions terms. */
export interface DevTextEngineOptions {
  /** Training text; defaults to the corpus shipped in `apps/node/data`. */
  readonly corpus?: string | undefined;
  /** 0..1 (default 1); lower trains a weaker model, see `quality.ts`. */
  readonly quality?: number | undefined;
  /** Generation pace after the first token; 0 (default) is as fast as the CPU allows. */
  readonly tokensPerSecond?: number | undefined;
  /** Wait before the first generated token, like a real backend's prefill. Default 0. */
  readonly firstTokenLatencyMs?: number | undefined;
  readonly sleep?: Sleep | undefined;
}

export type FinishReason = "stop" | "length";

/** The OpenAI /v1/completions `logprobs` object. */
export interface CompletionLogprobs {
  readonly tokens: string[];
  readonly tokenLogprobs: (number | null)[];
  readonly topLogprobs: (Record<string, number> | null)[];
  readonly textOffset: number[];
}

export interface TextCompletion {
  /** The completion, preceded by the prompt when `echo` was set. */
  readonly text: string;
  /** Completion token ids (never the prompt's, never end-of-sequence). */
  readonly tokens: number[];
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly seed: number;
  /** Present when `logprobs` was requested; covers the prompt's tokens too with `echo`. */
  readonly logprobs?: CompletionLogprobs;
}

export type TextStreamEvent =
  | { readonly type: "delta"; readonly text: string; readonly tokens: readonly StreamedToken[] }
  | {
      readonly type: "finish";
      readonly finishReason: FinishReason;
      readonly promptTokens: number;
      readonly completionTokens: number;
      readonly seed: number;
    };

export type ChatOptions = Omit<TextCompletionRequest, "prompt" | "echo">;

export interface ChatCompletion {
  readonly message: { readonly role: "assistant"; readonly content: string };
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly seed: number;
}

export interface DevTextEngineInfo {
  readonly label: string;
  readonly quality: number;
  readonly vocabSize: number;
  readonly trainingDocuments: number;
  readonly trainingTokens: number;
  readonly trainingMs: number;
  readonly tokensPerSecond: number;
  readonly firstTokenLatencyMs: number;
}

/**
 * A text engine behind the OpenAI completions and chat shapes (`text-calls.ts`): the development
 * n-gram model, or a GGUF model run by llama.cpp (`../gguf`).
 */
export interface TextEngine {
  /** `system_fingerprint` of its answers; the development backend's when absent. */
  readonly fingerprint?: string;
  complete(request: TextCompletionRequest, signal?: AbortSignal): Promise<TextCompletion>;
  /** Deltas as text becomes final, then one `finish` event; aborting rejects the iteration. */
  stream(request: TextCompletionRequest, signal?: AbortSignal): AsyncIterable<TextStreamEvent>;
  countTokens(text: string): number;
  tokenize(text: string): number[];
  detokenize(tokens: readonly number[]): string;
  chat(messages: readonly ChatMessage[], options: ChatOptions, signal?: AbortSignal): Promise<ChatCompletion>;
  streamChat(
    messages: readonly ChatMessage[],
    options: ChatOptions,
    signal?: AbortSignal,
  ): AsyncIterable<TextStreamEvent>;
}

export interface DevTextEngine extends TextEngine {
  readonly info: DevTextEngineInfo;
}
