import { performance } from "node:perf_hooks";
import type { ChatMessage } from "./chat-template.js";
import { CHAT_STOP_SEQUENCES, formatChatPrompt } from "./chat-template.js";
import type { CompletionChunk, StreamedToken } from "./completion-buffer.js";
import { CompletionBuffer } from "./completion-buffer.js";
import { documentRank, loadCorpus, splitDocuments } from "./corpus.js";
import { DEV_BACKEND_LABEL } from "./label.js";
import { topK, trainNgramModel } from "./ngram-model.js";
import { qualityProfile } from "./quality.js";
import { createRng, randomSeed } from "./rng.js";
import { countToken, penalize, sampleToken } from "./sampling.js";
import { realSleep, yieldToEventLoop } from "./sleep.js";
import type { TextCompletionRequest } from "./text-request.js";
import { parseTextRequest } from "./text-request.js";
import type {
  ChatOptions,
  CompletionLogprobs,
  DevTextEngine,
  DevTextEngineInfo,
  DevTextEngineOptions,
  FinishReason,
  TextCompletion,
  TextStreamEvent,
} from "./text-types.js";
import { buildTokenizer } from "./tokenizer.js";

export function createDevTextEngine(options: DevTextEngineOptions = {}): DevTextEngine {
  const started = performance.now();
  const profile = qualityProfile(options.quality ?? 1);
  const corpus = options.corpus ?? loadCorpus();
  // The vocabulary always comes from the whole corpus, so token ids agree across qualities.
  const tokenizer = buildTokenizer(corpus);
  const documents = splitDocuments(corpus).filter((doc) => documentRank(doc) < profile.corpusFraction);
  const eos = tokenizer.eosToken;
  const model = trainNgramModel(
    documents.map((doc) => tokenizer.encode(doc)),
    tokenizer.vocabSize,
    eos,
    profile,
  );
  const tokensPerSecond = options.tokensPerSecond ?? 0;
  const firstTokenLatencyMs = options.firstTokenLatencyMs ?? 0;
  if (!(tokensPerSecond >= 0) || !(firstTokenLatencyMs >= 0)) {
    throw new RangeError("tokensPerSecond and firstTokenLatencyMs must be non-negative");
  }
  const sleep = options.sleep ?? realSleep;
  const info: DevTextEngineInfo = {
    label: DEV_BACKEND_LABEL,
    quality: profile.quality,
    vocabSize: tokenizer.vocabSize,
    trainingDocuments: documents.length,
    trainingTokens: model.trainingTokens,
    trainingMs: performance.now() - started,
    tokensPerSecond,
    firstTokenLatencyMs,
  };

  const pace = async (step: number, signal: AbortSignal | undefined): Promise<void> => {
    if (step === 0 && firstTokenLatencyMs > 0) await sleep(firstTokenLatencyMs, signal);
    else if (step > 0 && tokensPerSecond > 0) await sleep(1000 / tokensPerSecond, signal);
    // Without pacing the loop never waits; yield now and then so an abort is seen promptly.
    else if (step % 32 === 0) await yieldToEventLoop(signal);
    signal?.throwIfAborted();
  };

  const describe = (token: number, probs: Float64Array | undefined, k: number | undefined) => {
    const name = tokenizer.tokenName(token);
    const logprob = probs === undefined ? null : Math.log(probs[token]!);
    if (k === undefined) return { token, name, logprob };
    if (probs === undefined) return { token, name, logprob, alternatives: null };
    const alternatives = topK(probs, k).map((alt) => ({
      name: tokenizer.tokenName(alt.token),
      logprob: alt.logprob,
    }));
    return { token, name, logprob, alternatives };
  };

  /** The prompt's tokens as one chunk, each scored given the tokens before it. */
  const scorePrompt = (
    prompt: readonly number[],
    k: number | undefined,
    scored: boolean,
  ): CompletionChunk => {
    const buffer = new CompletionBuffer(tokenizer, []);
    const chunks: CompletionChunk[] = [];
    prompt.forEach((token, i) => {
      const context = prompt.slice(Math.max(0, i - model.order + 1), i);
      const probs = scored && i > 0 ? model.distribution(context) : undefined;
      const chunk = buffer.push(describe(token, probs, k)).chunk;
      if (chunk) chunks.push(chunk);
    });
    const rest = buffer.finish();
    if (rest) chunks.push(rest);
    return { text: chunks.map((c) => c.text).join(""), tokens: chunks.flatMap((c) => c.tokens) };
  };

  async function* stream(
    request: TextCompletionRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<TextStreamEvent> {
    const req = parseTextRequest(request);
    signal?.throwIfAborted();
    const seed = req.seed ?? randomSeed();
    const rng = createRng(seed);
    const prompt = tokenizer.encode(req.prompt);
    const k = req.logprobs;
    if (req.echo) {
      const echoed = scorePrompt(prompt, k, k !== undefined);
      if (echoed.text !== "") yield { type: "delta", ...echoed };
    }
    const buffer = new CompletionBuffer(tokenizer, req.stop, req.echo ? req.prompt.length : 0);
    const context = [...prompt];
    const generated = new Map<number, number>();
    let completionTokens = 0;
    let finishReason: FinishReason = "length";
    let stopped = false;
    for (let step = 0; step < req.maxTokens && !stopped; step++) {
      await pace(step, signal);
      const probs = model.distribution(context);
      const token = sampleToken(penalize(probs, generated, req.presencePenalty, req.frequencyPenalty), {
        temperature: req.temperature,
        topP: req.topP,
        topK: req.topK,
        rng,
        banned: req.ignoreEos ? eos : undefined,
      });
      if (token === eos) {
        finishReason = "stop";
        break;
      }
      context.push(token);
      countToken(generated, token);
      const pushed = buffer.push(describe(token, probs, k));
      stopped = pushed.stopped;
      if (stopped) finishReason = "stop";
      if (pushed.chunk) {
        completionTokens += pushed.chunk.tokens.length;
        yield { type: "delta", ...pushed.chunk };
      }
    }
    const rest = stopped ? undefined : buffer.finish();
    if (rest) {
      completionTokens += rest.tokens.length;
      yield { type: "delta", ...rest };
    }
    yield { type: "finish", finishReason, promptTokens: prompt.length, completionTokens, seed };
  }

  const calls = callsOverStream(stream);
  return {
    info,
    ...calls,
    stream,
    countTokens: (text) => tokenizer.encode(text).length,
    tokenize: (text) => tokenizer.encode(text),
    detokenize: (tokens) => tokenizer.decode(tokens),
  };
}

/**
 * A completion, a chat reply and a streamed chat, all read off an engine's token stream (the
 * development and the in-process GGUF engines share them): the chat template and its stop
 * sequences, and only the template's leading space dropped from the reply (and from the token
 * that spelled it, so that a streamed chat's token names add up to its text).
 */
export function callsOverStream(
  stream: (request: TextCompletionRequest, signal?: AbortSignal) => AsyncIterable<TextStreamEvent>,
): Pick<DevTextEngine, "complete" | "chat" | "streamChat"> {
  const complete = async (request: TextCompletionRequest, signal?: AbortSignal): Promise<TextCompletion> => {
    let text = "";
    const tokens: StreamedToken[] = [];
    for await (const event of stream(request, signal)) {
      if (event.type === "finish") {
        const { type: _, ...usage } = event;
        const completion = tokens.slice(tokens.length - usage.completionTokens).map((t) => t.token);
        const base = { text, tokens: completion, ...usage };
        return request.logprobs === undefined ? base : { ...base, logprobs: toLogprobs(tokens) };
      }
      text += event.text;
      tokens.push(...event.tokens);
    }
    throw new Error("completion stream ended without a finish event");
  };
  const chatRequest = (messages: readonly ChatMessage[], options: ChatOptions): TextCompletionRequest => ({
    ...options,
    prompt: formatChatPrompt(messages),
    stop: [...CHAT_STOP_SEQUENCES, ...(options.stop ?? [])],
  });
  return {
    complete,
    chat: async (messages, options, signal) => {
      const {
        text,
        logprobs: _,
        tokens: __,
        ...usage
      } = await complete(chatRequest(messages, options), signal);
      return { message: { role: "assistant", content: withoutTemplateSpace(text) }, ...usage };
    },
    streamChat: (messages, options, signal) =>
      trimLeadingSpace(stream(chatRequest(messages, options), signal)),
  };
}

export function toLogprobs(tokens: readonly StreamedToken[]): CompletionLogprobs {
  return {
    tokens: tokens.map((t) => t.name),
    tokenLogprobs: tokens.map((t) => t.logprob),
    topLogprobs: tokens.map(completionTopLogprobs),
    textOffset: tokens.map((t) => t.textOffset),
  };
}

/**
 * A token's `top_logprobs` entry in the completions API: its alternatives and the token itself,
 * which OpenAI's completions API always includes (so up to `k + 1` entries; chat has at most `k`).
 * Prototype-less: a vocabulary may hold a token spelled `__proto__`.
 */
function completionTopLogprobs(t: StreamedToken): Record<string, number> | null {
  if (!t.alternatives || t.logprob === null) return null;
  const top: Record<string, number> = Object.create(null);
  for (const alt of t.alternatives) top[alt.name] = alt.logprob;
  top[t.name] = t.logprob;
  return top;
}

/**
 * The template leaves a space after `Assistant:`, which the reply should not start with: one
 * leading space is dropped, nothing more. Every other character a counted token produced is
 * delivered, so the reply's UTF-8 bytes bound its completion tokens as gateways check.
 */
export function withoutTemplateSpace(text: string): string {
  return text.startsWith(" ") ? text.slice(1) : text;
}

/**
 * {@link withoutTemplateSpace} on a stream: the first delta with text loses its leading space, and
 * so does the token that spelled it (its name, and its alternatives', which would have started the
 * reply as well); every later token starts one character earlier in the reply.
 */
export async function* trimLeadingSpace(
  events: AsyncIterable<TextStreamEvent>,
): AsyncGenerator<TextStreamEvent> {
  let started = false;
  let trimmed = false;
  for await (const event of events) {
    if (event.type === "delta" && !started && event.text !== "") {
      started = true;
      const text = withoutTemplateSpace(event.text);
      trimmed = text !== event.text;
      yield trimmed ? { ...event, text, tokens: withoutFirstSpace(event.tokens) } : event;
    } else if (event.type === "delta" && trimmed) {
      yield { ...event, tokens: event.tokens.map(oneEarlier) };
    } else yield event;
  }
}

/** A space as a byte token's name spells it (`Tokenizer.tokenName`). */
const SPACE_BYTE = "bytes:\\x20";

/** A token name without a leading space, spelled as text or as a byte. */
function nameWithoutSpace(name: string): string {
  if (name.startsWith(" ")) return name.slice(1);
  return name.startsWith(SPACE_BYTE) ? name.slice(SPACE_BYTE.length) : name;
}

const oneEarlier = (t: StreamedToken): StreamedToken => ({ ...t, textOffset: t.textOffset - 1 });

/**
 * The first delta's tokens once its leading space is dropped: the first token that spells a space
 * loses it (tokens without text, such as control tokens, may come before it), later ones start one
 * character earlier.
 */
function withoutFirstSpace(tokens: readonly StreamedToken[]): StreamedToken[] {
  let found = false;
  return tokens.map((t) => {
    if (found) return oneEarlier(t);
    const name = nameWithoutSpace(t.name);
    if (name === t.name) return t;
    found = true;
    const alternatives = t.alternatives?.map((alt) => ({ ...alt, name: nameWithoutSpace(alt.name) }));
    return alternatives === undefined ? { ...t, name } : { ...t, name, alternatives };
  });
}
