import { Data, type Effect, type Exit, type Scope, type Stream } from "effect";
import type { BackendKind } from "../config/node-config.js";

/**
 * What a backend can really do, declared per engine and confirmed by `pocket-node check`. Never
 * pretend: a relay that needs a missing capability is refused with `UNSUPPORTED_PARAMETER`
 * before any work, and the evaluator is told (e.g. no prompt logprobs → no loglikelihood tasks).
 */
export interface BackendCapabilities {
  readonly completions: boolean;
  readonly chat: boolean;
  readonly streaming: boolean;
  /** `echo: true` with `logprobs` returns the prompt tokens' logprobs (vLLM and the dev backend only). */
  readonly promptLogprobs: boolean;
  /** Logprobs of generated tokens. */
  readonly logprobs: boolean;
  /** `seed` makes sampling reproducible. */
  readonly seed: boolean;
  /** The engine can count tokens itself (vLLM, llama.cpp and TGI `/tokenize`). */
  readonly tokenize: boolean;
  /** `n` > 1 returns that many choices (llama.cpp server and TGI ignore `n`). */
  readonly n: boolean;
  /** Tool definitions and tool-result turns (vLLM and llama.cpp need flags for them). */
  readonly tools: boolean;
  /** A forced `tool_choice` (a named function or `"required"`) is obeyed (Ollama ignores it). */
  readonly forcedToolChoice: boolean;
  /** `parallel_tool_calls: false` is obeyed: at most one tool call (llama.cpp does; Ollama and vLLM before 0.11 ignore it). */
  readonly singleToolCall: boolean;
  /** `response_format: { type: "json_object" }`. */
  readonly jsonMode: boolean;
  /** `response_format: { type: "json_schema" }`. */
  readonly jsonSchema: boolean;
  /** Completion prompts as token ids (Ollama's OpenAI route takes text only). */
  readonly tokenPrompts: boolean;
  /** `logit_bias` shifts the listed tokens' odds (vLLM and llama.cpp server; Ollama and TGI ignore it). */
  readonly logitBias: boolean;
  /** A completion's `suffix`, fill-in-the-middle (Ollama; vLLM and llama.cpp server refuse it). */
  readonly suffix: boolean;
  /** `/v1/embeddings`. */
  readonly embeddings: boolean;
  readonly images: {
    readonly generate: boolean;
    readonly img2img: boolean;
    readonly inpaint: boolean;
    readonly outpaint: boolean;
  } | null;
}

/** The engine could not be reached, answered 5xx, or closed the connection. Safe to retry elsewhere before any output. */
export class BackendUnavailable extends Data.TaggedError("BackendUnavailable")<{
  readonly backend: string;
  readonly reason: string;
}> {}

/** The engine did not answer in time; the request was aborted. */
export class BackendTimeout extends Data.TaggedError("BackendTimeout")<{
  readonly backend: string;
  readonly timeoutMs: number;
}> {}

/** The engine refused the request (4xx) or answered something that is not its API's shape. Not retried. */
export class BackendRejected extends Data.TaggedError("BackendRejected")<{
  readonly backend: string;
  readonly status: number;
  readonly reason: string;
}> {}

/** Every backend and queue slot for the service is taken: answer `NODE_BUSY` at once. */
export class BackendBusy extends Data.TaggedError("BackendBusy")<{ readonly serviceId: string }> {}

export type BackendError = BackendUnavailable | BackendTimeout | BackendRejected;

/**
 * A time limit a caller sets over a whole call, its wait for a seat included: at `at` (on
 * `performance.now()`'s clock) the call is aborted and fails with `error()`.
 */
export interface CallDeadline {
  readonly at: number;
  readonly error: () => BackendTimeout;
}

/** A streamed piece of an OpenAI-compatible response: one SSE `data:` object. */
export type StreamPiece = Record<string, unknown>;

/**
 * A backend's open stream, read piece by piece. `nextReady`, where a backend has it, takes the
 * next piece only if the engine has already sent it (no waiting on I/O), else `undefined`: a
 * streamed relay folds what arrived together into one chunk (see `coalesce.ts` in `relay/`). A
 * piece it cannot hand over that way (an engine's invalid event) waits for `next()`, which throws.
 */
export interface PieceIterator extends AsyncIterator<StreamPiece> {
  nextReady?(): StreamPiece | undefined;
}

/**
 * One inference engine behind the node. Request and response bodies are the OpenAI-compatible
 * JSON shapes of `@pocket-ai/protocol` (the node has already validated and limited them); each
 * adapter translates to its engine and back. Every call honours interruption: interrupting the
 * Effect or Stream aborts the HTTP request to the engine.
 */
export interface Backend {
  /** Stable id for logs and metrics, e.g. `vllm@http://127.0.0.1:8000`. */
  readonly id: string;
  readonly kind: BackendKind;
  readonly capabilities: BackendCapabilities;
  /**
   * Whether `completions` and `chatCompletions` end at the {@link CallDeadline} given them (on the
   * engine request's own timer); for a backend that does not, the pool bounds the call itself.
   */
  readonly honorsDeadline?: boolean;
  completions(
    body: Record<string, unknown>,
    deadline?: CallDeadline,
  ): Effect.Effect<Record<string, unknown>, BackendError>;
  chatCompletions(
    body: Record<string, unknown>,
    deadline?: CallDeadline,
  ): Effect.Effect<Record<string, unknown>, BackendError>;
  /**
   * {@link completions} or {@link chatCompletions} in plain callbacks, for a relay served without a
   * fiber: `done` is called once with the call's exit, unless the returned function cancels the
   * call first (it aborts the engine request, and `done` is never called); it may be called before
   * this returns. It ends at `deadline` as those do. `undefined` (nothing started) where this body
   * needs their Effect form; absent where every body does.
   */
  startUnary?(
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
    deadline: CallDeadline | undefined,
    done: (exit: Exit.Exit<Record<string, unknown>, BackendError>) => void,
  ): (() => void) | undefined;
  /** Streams `/v1/completions` or `/v1/chat/completions` chunks; `body.stream` is set by the adapter. */
  stream(
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
  ): Stream.Stream<StreamPiece, BackendError>;
  /**
   * Optional fast path of {@link stream}: opens the stream in the scope (closing it aborts the
   * engine request) and hands back a plain iterator whose `next()` throws only BackendErrors. A
   * streamed relay reads it without per-piece Effect machinery; without it, `stream` is used.
   * When `signal` aborts, the engine request is aborted and the stream fails with
   * {@link abortedError} of the signal (the caller's time limit on the opening).
   */
  openStream?(
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Effect.Effect<PieceIterator, BackendError, Scope.Scope>;
  imagesGenerations(body: Record<string, unknown>): Effect.Effect<Record<string, unknown>, BackendError>;
  /** Image edits: `body.image` and `body.mask` are base64 PNG; `body.padding` asks for outpainting. */
  imagesEdits(body: Record<string, unknown>): Effect.Effect<Record<string, unknown>, BackendError>;
  /**
   * `/v1/embeddings` for `body.input` (a list of strings), answered as OpenAI's float vectors.
   * Absent when the engine makes no embeddings (the node then refuses the operation).
   */
  embeddings?(body: Record<string, unknown>): Effect.Effect<Record<string, unknown>, BackendError>;
  /** Counts tokens with the engine's own tokenizer, when `capabilities.tokenize`. */
  tokenize(text: string): Effect.Effect<number, BackendError>;
  /** A cheap liveness probe used by the pool's health checks. */
  health(): Effect.Effect<void, BackendError>;
}

/** Whether `value` is one of the backend errors (an iterator's rejection, an abort's reason). */
export function isBackendError(value: unknown): value is BackendError {
  const tag = (value as { _tag?: unknown } | null)?._tag;
  return tag === "BackendUnavailable" || tag === "BackendTimeout" || tag === "BackendRejected";
}

/**
 * The error a call ends with when its caller's signal aborts it: the signal's reason when that is
 * a backend error (a relay's time limit aborts with its `BackendTimeout`), else the backend
 * unavailable for this call.
 */
export function abortedError(signal: AbortSignal, backend: string): BackendError {
  return isBackendError(signal.reason)
    ? signal.reason
    : new BackendUnavailable({ backend, reason: "the call was cancelled" });
}
