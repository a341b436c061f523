import { performance } from "node:perf_hooks";
import type OpenAI from "openai";
import type { ChatOutcome, CompletionOutcome, RequestBody } from "./probe-transport.js";

interface RequestOptions {
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
}

/**
 * Tracks time to the first piece of visible text (whitespace alone does not count: a node could
 * send a blank at once to look fast) and the usage piece at the end.
 */
function clock(started: number) {
  let ttftMs: number | null = null;
  return {
    sawText(text: string) {
      if (ttftMs === null && text.trim() !== "") ttftMs = performance.now() - started;
    },
    timing: () => ({ totalMs: performance.now() - started, ttftMs }),
  };
}

/** A streamed `/v1/completions` probe: text, usage and TTFT as the customer would see them. */
export async function streamCompletion(
  client: OpenAI,
  body: RequestBody,
  request: RequestOptions,
  started: number,
): Promise<CompletionOutcome> {
  const stream = await client.completions.create(
    {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    } as unknown as OpenAI.CompletionCreateParamsStreaming,
    request,
  );
  const timer = clock(started);
  let text = "";
  let completionTokens: number | null = null;
  let finishReason: string | null = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice !== undefined) {
      timer.sawText(choice.text ?? "");
      text += choice.text ?? "";
      finishReason = choice.finish_reason ?? finishReason;
    }
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  return { text, logprobs: null, completionTokens, finishReason, timing: timer.timing() };
}

/** A streamed `/v1/chat/completions` probe. */
export async function streamChat(
  client: OpenAI,
  body: RequestBody,
  request: RequestOptions,
  started: number,
): Promise<ChatOutcome> {
  const stream = await client.chat.completions.create(
    {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    } as unknown as OpenAI.ChatCompletionCreateParamsStreaming,
    request,
  );
  const timer = clock(started);
  let content = "";
  let completionTokens: number | null = null;
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta?.content ?? "";
    timer.sawText(piece);
    content += piece;
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  return { content, completionTokens, timing: timer.timing() };
}
