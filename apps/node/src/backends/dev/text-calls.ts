import { type Effect, Stream } from "effect";
import type { BackendError, StreamPiece } from "../backend.js";
import type { StreamedToken, TextEngine, TextStreamEvent } from "./index.js";
import { DevBackendRequestError } from "./index.js";
import {
  chatLogprobs,
  chatLogprobsCount,
  chatMessages,
  completionPrompts,
  completionRequest,
  DEV_FINGERPRINT,
  legacyLogprobs,
  openaiId,
  samplingOptions,
  streamedLegacyLogprobs,
  unixSeconds,
  usage,
} from "./openai-shapes.js";

/** How the dev backend runs one engine call: with the call timeout, aborting on interruption. */
export interface DevRunner {
  /** The node's clock (Unix ms), for `created`. */
  readonly now: () => number;
  run<A>(call: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, BackendError>;
  stream(
    events: (signal: AbortSignal) => AsyncIterable<TextStreamEvent>,
  ): Stream.Stream<TextStreamEvent, BackendError>;
}

const modelOf = (body: Record<string, unknown>) => (typeof body.model === "string" ? body.model : "dev");

/** `/v1/completions` on the dev engine: several prompts and `n` samples each, like vLLM. */
export function devCompletions(engine: TextEngine, runner: DevRunner, body: Record<string, unknown>) {
  return runner.run(async (signal) => {
    const prompts = completionPrompts(body.prompt, engine.detokenize);
    const n = typeof body.n === "number" && body.n > 0 ? body.n : 1;
    const choices: Record<string, unknown>[] = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (const prompt of prompts) {
      for (let sample = 0; sample < n; sample++) {
        const result = await engine.complete(completionRequest(body, prompt, sample), signal);
        if (sample === 0) promptTokens += result.promptTokens;
        completionTokens += result.completionTokens;
        const logprobs = result.logprobs === undefined ? null : legacyLogprobs(result.logprobs);
        choices.push({
          index: choices.length,
          text: result.text,
          logprobs,
          finish_reason: result.finishReason,
        });
      }
    }
    return {
      id: openaiId("cmpl"),
      object: "text_completion",
      created: unixSeconds(runner.now),
      model: modelOf(body),
      system_fingerprint: engine.fingerprint ?? DEV_FINGERPRINT,
      choices,
      usage: usage(promptTokens, completionTokens),
    } as Record<string, unknown>;
  });
}

function chatOptions(body: Record<string, unknown>) {
  return { ...samplingOptions(body, 256), logprobs: chatLogprobsCount(body) };
}

/**
 * `/v1/chat/completions`, read off the engine's chat stream so that logprobs come along; `n`
 * samples, sample `i` seeded `seed + i` as for completions.
 */
export function devChatCompletions(engine: TextEngine, runner: DevRunner, body: Record<string, unknown>) {
  return runner.run(async (signal) => {
    const messages = chatMessages(body.messages);
    const n = typeof body.n === "number" && body.n > 0 ? body.n : 1;
    const wantsLogprobs = chatLogprobsCount(body) !== undefined;
    const options = chatOptions(body);
    const choices: Record<string, unknown>[] = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (let sample = 0; sample < n; sample++) {
      const seeded = options.seed === undefined ? options : { ...options, seed: options.seed + sample };
      let text = "";
      const tokens: StreamedToken[] = [];
      let finished = false;
      for await (const event of engine.streamChat(messages, seeded, signal)) {
        if (event.type === "delta") {
          text += event.text;
          tokens.push(...event.tokens);
          continue;
        }
        if (sample === 0) promptTokens = event.promptTokens;
        completionTokens += event.completionTokens;
        choices.push({
          index: sample,
          message: { role: "assistant", content: text },
          logprobs: wantsLogprobs ? chatLogprobs(tokens) : null,
          finish_reason: event.finishReason,
        });
        finished = true;
        break;
      }
      if (!finished) throw new Error("chat stream ended without a finish event");
    }
    return {
      id: openaiId("chatcmpl"),
      object: "chat.completion",
      created: unixSeconds(runner.now),
      model: modelOf(body),
      system_fingerprint: engine.fingerprint ?? DEV_FINGERPRINT,
      choices,
      usage: usage(promptTokens, completionTokens),
    } as Record<string, unknown>;
  });
}

/**
 * Streamed completions or chat, shaped as vLLM's SSE data objects: for chat a first `role` delta,
 * then text pieces, a piece with the `finish_reason`, and always a last usage piece
 * (`choices: []`), as the HTTP adapters ask every engine for one.
 */
export function devStream(
  engine: TextEngine,
  runner: DevRunner,
  operation: "completions" | "chat.completions",
  body: Record<string, unknown>,
): Stream.Stream<StreamPiece, BackendError> {
  const chat = operation === "chat.completions";
  const base = {
    id: openaiId(chat ? "chatcmpl" : "cmpl"),
    object: chat ? "chat.completion.chunk" : "text_completion",
    created: unixSeconds(runner.now),
    model: modelOf(body),
    system_fingerprint: engine.fingerprint ?? DEV_FINGERPRINT,
  };
  const wantsLogprobs = chat ? chatLogprobsCount(body) !== undefined : typeof body.logprobs === "number";
  const events = runner.stream((signal) => {
    // Several streamed choices would interleave; refused rather than cut to one.
    const several = typeof body.n === "number" && body.n > 1;
    if (chat) {
      if (several)
        throw new DevBackendRequestError("an in-process engine streams one sample at a time (n 1)");
      return engine.streamChat(chatMessages(body.messages), chatOptions(body), signal);
    }
    const prompts = completionPrompts(body.prompt, engine.detokenize);
    if (prompts.length !== 1 || several) {
      throw new DevBackendRequestError("an in-process engine streams one prompt and one sample at a time");
    }
    return engine.stream(completionRequest(body, prompts[0] ?? "", 0), signal);
  });
  const piece = (choice: Record<string, unknown>): StreamPiece => ({
    ...base,
    choices: [{ index: 0, ...choice }],
  });
  const toPieces = (event: TextStreamEvent): StreamPiece[] => {
    if (event.type === "finish") {
      const finish = chat
        ? piece({ delta: {}, logprobs: null, finish_reason: event.finishReason })
        : piece({ text: "", logprobs: null, finish_reason: event.finishReason });
      return [finish, { ...base, choices: [], usage: usage(event.promptTokens, event.completionTokens) }];
    }
    if (event.text === "" && event.tokens.length === 0) return [];
    if (chat) {
      const logprobs = wantsLogprobs ? chatLogprobs(event.tokens) : null;
      return [piece({ delta: { content: event.text }, logprobs, finish_reason: null })];
    }
    const logprobs = wantsLogprobs ? streamedLegacyLogprobs(event.tokens) : null;
    return [piece({ text: event.text, logprobs, finish_reason: null })];
  };
  // The chat `role` piece goes out with the engine's first event, so a refused request fails
  // before any output, as vLLM's would.
  return Stream.suspend(() => {
    let first = chat;
    return Stream.mapConcat(events, (event) => {
      const out = toPieces(event);
      if (!first) return out;
      first = false;
      return [
        piece({ delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }),
        ...out,
      ];
    });
  });
}
