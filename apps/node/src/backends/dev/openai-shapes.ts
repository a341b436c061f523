import { randomUUID } from "node:crypto";
import type { ChatMessage, CompletionLogprobs, StreamedToken, TextCompletionRequest } from "./index.js";
import { DevBackendRequestError } from "./index.js";
import { toLogprobs } from "./text-engine.js";

/**
 * Translation between OpenAI request/response JSON and the development text engine, producing
 * what vLLM would answer: `cmpl-…`/`chatcmpl-…` ids, `object`, `created`, `model`, choices and usage.
 */

/** Shown in every dev response, so nobody mistakes it for a real model's answer. */
export const DEV_FINGERPRINT = "pocket-ai-dev";

const optionalNumber = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

export const openaiId = (prefix: "cmpl" | "chatcmpl") => `${prefix}-${randomUUID().replaceAll("-", "")}`;
/** Unix seconds (OpenAI's `created`) from the node's clock. */
export const unixSeconds = (now: () => number) => Math.floor(now() / 1000);

function stopList(stop: unknown): string[] | undefined {
  if (typeof stop === "string") return [stop];
  if (Array.isArray(stop)) return stop.filter((s): s is string => typeof s === "string");
  return undefined;
}

/** The sampling fields shared by completions and chat; OpenAI's `null` means "not set". */
export function samplingOptions(body: Record<string, unknown>, defaultMaxTokens: number) {
  return {
    maxTokens:
      optionalNumber(body.max_completion_tokens) ?? optionalNumber(body.max_tokens) ?? defaultMaxTokens,
    temperature: optionalNumber(body.temperature),
    topP: optionalNumber(body.top_p),
    topK: optionalNumber(body.top_k),
    seed: optionalNumber(body.seed),
    stop: stopList(body.stop),
    ignoreEos: body.ignore_eos === true,
    presencePenalty: optionalNumber(body.presence_penalty),
    frequencyPenalty: optionalNumber(body.frequency_penalty),
  };
}

/** One completion prompt: its text, and the token ids it was sent as, if it was. */
export interface CompletionPrompt {
  readonly text: string;
  readonly tokens?: readonly number[];
}

/**
 * `prompt` as the engine takes it: text, or token ids (as vLLM accepts) with their text. A token
 * id outside the vocabulary is the request's fault (vLLM answers 400 too), never an engine
 * failure.
 */
export function completionPrompts(
  prompt: unknown,
  decode: (tokens: readonly number[]) => string,
): CompletionPrompt[] {
  const fromTokens = (tokens: readonly number[]): CompletionPrompt => {
    try {
      return { text: decode(tokens), tokens };
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new DevBackendRequestError(`prompt token ids: ${error.message} (outside the model's vocabulary)`);
    }
  };
  if (typeof prompt === "string") return [{ text: prompt }];
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === "number")) return [fromTokens(prompt)];
  if (Array.isArray(prompt) && prompt.length > 0) {
    return prompt.map((p) => {
      if (typeof p === "string") return { text: p };
      if (Array.isArray(p) && p.every((t) => typeof t === "number")) return fromTokens(p);
      throw new DevBackendRequestError("prompt must be a string, a list of strings or token id lists");
    });
  }
  throw new DevBackendRequestError("prompt must be a string, a list of strings or token id lists");
}

/** One engine request for a completion prompt; sample `i` of `n` uses seed + i, as vLLM does. */
export function completionRequest(
  body: Record<string, unknown>,
  prompt: CompletionPrompt,
  sample: number,
): TextCompletionRequest {
  const options = samplingOptions(body, 16);
  return {
    ...options,
    seed: options.seed === undefined ? undefined : options.seed + sample,
    prompt: prompt.text,
    ...(prompt.tokens === undefined ? {} : { promptTokens: [...prompt.tokens] }),
    echo: body.echo === true,
    logprobs: optionalNumber(body.logprobs),
  };
}

/** OpenAI chat messages as the engine's template takes them; text parts are joined. */
export function chatMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new DevBackendRequestError("messages must be a non-empty list");
  return messages.map((message) => {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (role !== "system" && role !== "developer" && role !== "user" && role !== "assistant") {
      throw new DevBackendRequestError(`the development backend does not take '${String(role)}' messages`);
    }
    const text =
      typeof content === "string"
        ? content
        : Array.isArray(content)
          ? content
              .map((part) =>
                (part as { type?: unknown }).type === "text"
                  ? String((part as { text?: unknown }).text ?? "")
                  : "",
              )
              .join("")
          : "";
    return { role, content: text };
  });
}

/** Chat `logprobs: true` + `top_logprobs: k` is the engine's `logprobs: k`. */
export function chatLogprobsCount(body: Record<string, unknown>): number | undefined {
  return body.logprobs === true ? (optionalNumber(body.top_logprobs) ?? 0) : undefined;
}

export function legacyLogprobs(logprobs: CompletionLogprobs) {
  return {
    tokens: logprobs.tokens,
    token_logprobs: logprobs.tokenLogprobs,
    top_logprobs: logprobs.topLogprobs,
    text_offset: logprobs.textOffset,
  };
}

/** Legacy logprobs of streamed tokens (one stream piece). */
export function streamedLegacyLogprobs(tokens: readonly StreamedToken[]) {
  return legacyLogprobs(toLogprobs(tokens));
}

/**
 * A token's UTF-8 bytes. A token that is only part of a character is named `bytes:\xNN…` (as
 * OpenAI names them): its bytes are those, not the UTF-8 of its name.
 */
export const bytesOf = (name: string): number[] =>
  /^bytes:(\\x[0-9a-f]{2})+$/.test(name)
    ? name
        .slice("bytes:".length)
        .split("\\x")
        .filter((hex) => hex !== "")
        .map((hex) => Number.parseInt(hex, 16))
    : Array.from(Buffer.from(name, "utf8"));

/**
 * Chat-style logprobs: `{content: [{token, logprob, bytes, top_logprobs}]}`, each `top_logprobs`
 * the `top_logprobs` most probable tokens, most probable first, as OpenAI's chat API answers: the
 * token itself is among them only if it is one of those (the completions API always adds it).
 */
export function chatLogprobs(tokens: readonly StreamedToken[]) {
  return {
    content: tokens.map((t) => ({
      token: t.name,
      logprob: t.logprob ?? 0,
      bytes: bytesOf(t.name),
      top_logprobs: (t.alternatives ?? []).map((alt) => ({
        token: alt.name,
        logprob: alt.logprob,
        bytes: bytesOf(alt.name),
      })),
    })),
  };
}

export function usage(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}
