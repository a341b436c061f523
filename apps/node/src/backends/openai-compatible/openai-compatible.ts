import { normalizeFinishReasons } from "@pocket-ai/protocol";
import { Effect, Exit, type Scope, Stream } from "effect";
import type { BackendConfig } from "../../config/node-config.js";
import { ENGINE_EXTRAS } from "../../relay/engine-body.js";
import {
  type Backend,
  type BackendError,
  BackendRejected,
  type CallDeadline,
  type PieceIterator,
  type StreamPiece,
} from "../backend.js";
import { ENGINE_CAPABILITIES, withOverrides } from "../engine-capabilities.js";
import {
  type EngineTarget,
  engineHeaders,
  engineIdUrl,
  expectRecord,
  requestJson,
  requestJsonThen,
  requestOk,
  startJsonThen,
} from "../engine-http.js";
import { openSse, streamOfIterator } from "../engine-sse.js";
import { tokenCount } from "./token-count.js";

/** The engines that speak the OpenAI HTTP API (TGI through its Messages API). */
export type OpenAICompatibleKind = "vllm" | "llamacpp" | "ollama" | "tgi";

export function isOpenAICompatibleKind(kind: string): kind is OpenAICompatibleKind {
  return kind === "vllm" || kind === "llamacpp" || kind === "ollama" || kind === "tgi";
}

const PATHS = { completions: "/v1/completions", "chat.completions": "/v1/chat/completions" } as const;

/** Each engine's own tokenizer endpoint and request shape (Ollama has none). */
const TOKENIZE: Record<OpenAICompatibleKind, ((text: string, model: string | undefined) => unknown) | null> =
  {
    vllm: (text, model) => (model === undefined ? { prompt: text } : { model, prompt: text }),
    // With the `<s>` the engine puts before a prompt and bills (its default leaves it out).
    llamacpp: (text) => ({ content: text, add_special: true }),
    tgi: (text) => ({ inputs: text }),
    ollama: null,
  };

/**
 * The backend for vLLM, llama.cpp server, Ollama and TGI. Bodies arrive built from the protocol's
 * fields only, and pass through unchanged except:
 * - `top_k` and `ignore_eos` reach vLLM and llama.cpp only;
 * - `model` becomes the engine's model name (`config.model`), and responses and stream pieces
 *   carry the caller's `model` back, so engine-internal names (a GGUF path, an Ollama tag) never
 *   reach the client and the gateway's service check sees what it asked for;
 * - streams always ask for `stream_options.include_usage`, so a streamed relay is metered from
 *   the engine's own count: the last piece before `[DONE]` has `choices: []` and `usage`.
 */
export function makeOpenAICompatibleBackend(
  config: BackendConfig & { readonly kind: OpenAICompatibleKind; readonly url: string },
): Backend {
  const kind = config.kind;
  const target: EngineTarget = {
    backendId: `${kind}@${engineIdUrl(config.url)}`,
    baseUrl: config.url,
    timeoutMs: config.timeoutMs,
    headers: engineHeaders(config),
  };
  const backendId = target.backendId;

  // The body was built by admission from the protocol's fields (`relay/engine-body.ts`); this
  // engine's adapter drops the extras it does not take and names its own model.
  const takesExtras = kind === "vllm" || kind === "llamacpp";
  const engineBody = (body: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...body };
    if (!takesExtras) for (const field of ENGINE_EXTRAS) delete out[field];
    if (config.model !== undefined) out.model = config.model;
    return out;
  };
  const callerModel = (body: Record<string, unknown>) =>
    typeof body.model === "string" ? body.model : undefined;
  const withCallerModel = <T extends Record<string, unknown>>(value: T, model: string | undefined): T =>
    model === undefined || value.model === undefined ? value : { ...value, model };

  // Ollama's OpenAI routes take text prompts only: a token-id prompt is refused here, clearly,
  // rather than sent to fail in the engine (admission refuses it first: `tokenPrompts`).
  const textOnlyPrompt = (body: Record<string, unknown>) =>
    kind === "ollama" && !isTextPrompt(body.prompt)
      ? Effect.fail(
          new BackendRejected({
            backend: backendId,
            status: 400,
            reason: "Ollama takes text prompts only; send the prompt as a string or a list of strings",
          }),
        )
      : Effect.void;

  /** A unary call's engine body: never `stream_options` (vLLM refuses it with `stream: false`). */
  const unaryBody = (body: Record<string, unknown>) => {
    // The engine body is this call's own copy: edited in place.
    const request = engineBody(body);
    delete request.stream_options;
    request.stream = false;
    return request;
  };
  /** The engine's unary answer checked and named in plain code: each relay's answer passes here. */
  const unaryAnswer =
    (body: Record<string, unknown>) =>
    (value: unknown): Exit.Exit<Record<string, unknown>, BackendRejected> => {
      if (!isRecord(value))
        return Exit.fail(
          new BackendRejected({ backend: backendId, status: 502, reason: "response is not a JSON object" }),
        );
      if (!Array.isArray(value.choices))
        return Exit.fail(
          new BackendRejected({ backend: backendId, status: 502, reason: "response has no choices array" }),
        );
      return Exit.succeed(
        withCallerModel(normalizeFinishReasons(atMostTopLogprobs(value, body)), callerModel(body)),
      );
    };
  // Checked in the exchange's own step.
  const unary = (path: string, body: Record<string, unknown>, deadline?: CallDeadline) =>
    requestJsonThen(target, "POST", path, unaryBody(body), deadline, unaryAnswer(body));

  const notSupported = (what: string) =>
    Effect.fail(new BackendRejected({ backend: backendId, status: 501, reason: `${kind} does not ${what}` }));

  const openStream = (
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Effect.Effect<PieceIterator, BackendError, Scope.Scope> => {
    const requested = body.stream_options;
    const streamOptions = typeof requested === "object" && requested !== null ? requested : {};
    const request = {
      ...engineBody(body),
      stream: true,
      stream_options: { ...streamOptions, include_usage: true },
    };
    const model = callerModel(body);
    const refused = operation === "completions" ? textOnlyPrompt(body) : Effect.void;
    // llama.cpp's completion pieces carry chat-shaped logprobs; offsets run on across pieces.
    const offsets = new Map<number, number>();
    const piece = (value: Record<string, unknown>) => {
      const named = withCallerModel(normalizeFinishReasons(atMostTopLogprobs(value, body)), model);
      return kind === "llamacpp" && operation === "completions"
        ? legacyCompletionLogprobs(named, offsets)
        : named;
    };
    return Effect.zipRight(
      refused,
      Effect.map(
        openSse(target, PATHS[operation], request, signal),
        (pieces): PieceIterator => ({
          next: async () => {
            const next = await pieces.next();
            return next.done === true ? next : { done: false, value: piece(next.value) };
          },
          nextReady: () => {
            const ready = pieces.nextReady();
            return ready === undefined ? undefined : piece(ready);
          },
        }),
      ),
    );
  };

  // Ollama's completion prompt is one string: a list of prompts (lm-evaluation-harness batches
  // them) becomes one engine call per prompt, choices numbered in prompt order, usage summed.
  const splitsPrompts = (
    body: Record<string, unknown>,
  ): body is Record<string, unknown> & { prompt: string[] } =>
    kind === "ollama" && Array.isArray(body.prompt) && body.prompt.length > 0;

  const completionsOnePerPrompt = (
    body: Record<string, unknown> & { prompt: string[] },
    deadline: CallDeadline | undefined,
  ) =>
    Effect.forEach(body.prompt, (prompt) => unary(PATHS.completions, { ...body, prompt }, deadline), {
      concurrency: 4,
    }).pipe(Effect.map((answers) => mergeCompletions(answers)));

  const openCompletionStream = (
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Effect.Effect<PieceIterator, BackendError, Scope.Scope> =>
    operation === "completions" && splitsPrompts(body)
      ? Effect.zipRight(
          textOnlyPrompt(body),
          Effect.map(
            Effect.forEach(body.prompt, (prompt) => openStream("completions", { ...body, prompt }, signal), {
              concurrency: 4,
            }),
            (iterators) => sequentialPieces(iterators),
          ),
        )
      : openStream(operation, body, signal);

  return {
    id: backendId,
    kind,
    capabilities: withOverrides(ENGINE_CAPABILITIES[kind], config.capabilities),
    honorsDeadline: true,
    completions: (body, deadline) =>
      Effect.zipRight(
        textOnlyPrompt(body),
        kind === "llamacpp"
          ? Effect.map(unary(PATHS.completions, body, deadline), (response) =>
              legacyCompletionLogprobs(response, new Map()),
            )
          : splitsPrompts(body)
            ? completionsOnePerPrompt(body, deadline)
            : unary(PATHS.completions, body, deadline),
      ),
    chatCompletions: (body, deadline) => unary(PATHS["chat.completions"], body, deadline),
    // The calls above in plain callbacks, where one engine call answers them (not Ollama's prompts
    // one per call, nor a prompt it refuses: those take the Effect form).
    startUnary: (operation, body, deadline, done) => {
      if (operation === "completions" && kind === "ollama") return undefined;
      const check = unaryAnswer(body);
      const then =
        operation === "completions" && kind === "llamacpp"
          ? (value: unknown) =>
              Exit.map(check(value), (response) => legacyCompletionLogprobs(response, new Map()))
          : check;
      return startJsonThen(target, "POST", PATHS[operation], unaryBody(body), deadline, then, done);
    },
    openStream: openCompletionStream,
    stream: (operation, body): Stream.Stream<StreamPiece, BackendError> =>
      Stream.unwrapScoped(
        Effect.map(openCompletionStream(operation, body), (iterator) =>
          streamOfIterator(backendId, iterator),
        ),
      ),
    imagesGenerations: () => notSupported("generate images"),
    imagesEdits: () => notSupported("edit images"),
    // vLLM (`--task embed`), llama.cpp (`--embeddings`) and Ollama answer OpenAI's route; the
    // node asks for floats (the one format all three give) and packs them itself.
    embeddings: (body) =>
      requestJson(target, "POST", "/v1/embeddings", {
        model: config.model ?? body.model,
        input: body.input,
        encoding_format: "float",
      }).pipe(
        Effect.flatMap((value) => expectRecord(backendId, value, "response")),
        Effect.filterOrFail(
          (response) => Array.isArray(response.data),
          () =>
            new BackendRejected({ backend: backendId, status: 502, reason: "response has no data array" }),
        ),
      ),
    tokenize: (text) => {
      const shape = TOKENIZE[kind];
      if (shape === null) return notSupported("expose a tokenizer");
      return requestJson(target, "POST", "/tokenize", shape(text, config.model)).pipe(
        Effect.flatMap((response) => tokenCount(backendId, response)),
      );
    },
    health: () =>
      kind === "tgi" ? requestOk(target, "/health") : Effect.asVoid(requestJson(target, "GET", "/v1/models")),
  };
}

/** A prompt as text: a string or a non-empty list of strings (not token ids). */
function isTextPrompt(prompt: unknown): boolean {
  return (
    typeof prompt === "string" ||
    (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === "string"))
  );
}

/**
 * A chat answer (or streamed piece) with each token's `top_logprobs` cut to the `top_logprobs`
 * asked for (none when absent): some engines add the sampled token to its alternatives, as the
 * completions API does, which the chat API (and the gateway's checks) do not allow. Anything else
 * passes through as it is.
 */
export function atMostTopLogprobs<T extends Record<string, unknown>>(
  response: T,
  body: Record<string, unknown>,
): T {
  if (body.logprobs !== true || !Array.isArray(response.choices)) return response;
  const asked = typeof body.top_logprobs === "number" && body.top_logprobs > 0 ? body.top_logprobs : 0;
  let changed = false;
  const choices = response.choices.map((choice: Record<string, unknown>) => {
    const logprobs = choice?.logprobs as { content?: unknown } | null | undefined;
    if (logprobs === null || typeof logprobs !== "object" || !Array.isArray(logprobs.content)) return choice;
    const entries = logprobs.content as ChatLogprob[];
    if (!entries.some((e) => Array.isArray(e?.top_logprobs) && e.top_logprobs.length > asked)) return choice;
    changed = true;
    // The most probable first, whatever order the engine listed them in (an added sampled token
    // may come first).
    const logprobOf = (alt: unknown) =>
      typeof (alt as ChatLogprob | null)?.logprob === "number"
        ? ((alt as ChatLogprob).logprob as number)
        : Number.NEGATIVE_INFINITY;
    const content = entries.map((e) =>
      Array.isArray(e?.top_logprobs) && e.top_logprobs.length > asked
        ? {
            ...e,
            top_logprobs: [...e.top_logprobs].sort((a, b) => logprobOf(b) - logprobOf(a)).slice(0, asked),
          }
        : e,
    );
    return { ...choice, logprobs: { ...logprobs, content } };
  });
  return changed ? { ...response, choices } : response;
}

interface ChatLogprob {
  readonly token?: unknown;
  readonly logprob?: unknown;
  readonly top_logprobs?: unknown;
}

/**
 * llama.cpp server answers `/v1/completions` with chat-shaped logprobs (`{ content: [{ token,
 * logprob, top_logprobs: [{ token, logprob }] }] }`); the completions API (and the protocol's
 * schema) has `tokens`, `token_logprobs`, `top_logprobs` as token → logprob maps, and `text_offset`.
 * Each choice's offsets start at 0 and run on across a stream's pieces (`offsets`, by choice index).
 * Choices already in the completions shape, or without logprobs, pass through.
 */
export function legacyCompletionLogprobs<T extends Record<string, unknown>>(
  response: T,
  offsets: Map<number, number>,
): T {
  const choices = response.choices;
  if (!Array.isArray(choices)) return response;
  let changed = false;
  const converted = choices.map((choice: Record<string, unknown>) => {
    const logprobs = choice?.logprobs as { content?: unknown } | null | undefined;
    if (logprobs === null || typeof logprobs !== "object" || !Array.isArray(logprobs.content)) return choice;
    changed = true;
    const index = typeof choice.index === "number" ? choice.index : 0;
    let offset = offsets.get(index) ?? 0;
    const entries = logprobs.content as ChatLogprob[];
    const tokens: string[] = [];
    const tokenLogprobs: (number | null)[] = [];
    const top: (Record<string, number> | null)[] = [];
    const textOffset: number[] = [];
    for (const entry of entries) {
      const token = typeof entry.token === "string" ? entry.token : "";
      tokens.push(token);
      tokenLogprobs.push(typeof entry.logprob === "number" ? entry.logprob : null);
      const alternatives = Array.isArray(entry.top_logprobs) ? (entry.top_logprobs as ChatLogprob[]) : [];
      const map: Record<string, number> = Object.create(null);
      for (const alt of alternatives)
        if (typeof alt.token === "string" && typeof alt.logprob === "number" && !(alt.token in map))
          map[alt.token] = alt.logprob;
      top.push(map);
      textOffset.push(offset);
      offset += token.length;
    }
    offsets.set(index, offset);
    return {
      ...choice,
      logprobs: { tokens, token_logprobs: tokenLogprobs, top_logprobs: top, text_offset: textOffset },
    };
  });
  return changed ? { ...response, choices: converted } : response;
}

type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

function addUsage(total: Usage, usage: unknown): void {
  const u = (usage ?? {}) as Partial<Record<keyof Usage, unknown>>;
  for (const key of ["prompt_tokens", "completion_tokens", "total_tokens"] as const)
    if (typeof u[key] === "number") total[key] += u[key] as number;
}

/** Answers to one prompt each, as one answer: choice `i` is prompt `i`'s, usage the sum. */
function mergeCompletions(answers: readonly Record<string, unknown>[]): Record<string, unknown> {
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const choices: unknown[] = [];
  answers.forEach((answer, i) => {
    addUsage(usage, answer.usage);
    for (const choice of answer.choices as Record<string, unknown>[]) choices.push({ ...choice, index: i });
  });
  return { ...answers[0], choices, usage };
}

/**
 * Streams of one prompt each, as one stream: prompt `i`'s pieces (its choices numbered `i`) in
 * prompt order, each stream's usage piece held back and one summed usage piece at the end.
 */
function sequentialPieces(iterators: readonly AsyncIterator<StreamPiece>[]): AsyncIterator<StreamPiece> {
  const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let current = 0;
  let last: StreamPiece = {};
  let done = false;
  return {
    next: async () => {
      while (!done) {
        const iterator = iterators[current];
        if (iterator === undefined) {
          done = true;
          const { usage: _own, ...head } = last;
          return { done: false, value: { ...head, choices: [], usage } };
        }
        const next = await iterator.next();
        if (next.done === true) {
          current += 1;
          continue;
        }
        const piece = next.value;
        if (piece.usage !== undefined && piece.usage !== null) addUsage(usage, piece.usage);
        const choices = Array.isArray(piece.choices) ? (piece.choices as Record<string, unknown>[]) : [];
        const { usage: _own, ...rest } = piece;
        last = rest;
        if (choices.length === 0) continue;
        const index = current;
        return { done: false, value: { ...rest, choices: choices.map((choice) => ({ ...choice, index })) } };
      }
      return { done: true, value: undefined };
    },
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
