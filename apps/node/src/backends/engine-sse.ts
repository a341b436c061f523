import { SseStreamParser } from "@pocket-ai/protocol";
import { makeKeepAliveFetch, type ReadyParts, StreamDeadline } from "@pocket-ai/runtime";
import { Effect, type Scope, Stream } from "effect";
import {
  abortedError,
  type BackendError,
  BackendRejected,
  BackendTimeout,
  BackendUnavailable,
  isBackendError,
  type PieceIterator,
  type StreamPiece,
} from "./backend.js";
import {
  describeFetchFailure,
  type EngineTarget,
  engineErrorMessage,
  engineUrl,
  openLeanEngineStream,
  statusError,
} from "./engine-http.js";
import { onScopeClose } from "./scope-finalizer.js";

/** Streams to `https:` engines use pooled keep-alive `node:http(s)` sockets, read as Node streams. */
const sseFetch = makeKeepAliveFetch({ maxSockets: 1024 });

/** An engine's answer, open: its status, its body's text as it arrives, or its first bytes. */
interface OpenedAnswer {
  readonly status: number;
  /** The body's text as it arrives (a 2xx answer's). */
  parts(): AsyncIterable<string>;
  /**
   * An error answer's body, at most {@link MAX_ERROR_BODY_CHARS} characters of it: the rest is not
   * read, and the connection is closed (an error's message is short; an engine that keeps sending
   * never fills the node's memory).
   */
  text(): Promise<string>;
}

/** How much of an error answer's body is read: its message is cut to 500 characters anyway. */
export const MAX_ERROR_BODY_CHARS = 64 * 1024;

/**
 * The most characters an engine's stream may send without completing an event (a piece is a few
 * hundred bytes, one with many logprobs a few kilobytes): an engine that goes on past it is
 * refused, where every character would be kept until the call's timeout.
 */
export const MAX_ENGINE_EVENT_CHARS = 16 * 1024 * 1024;

/** The first `max` characters of `parts`; leaving the loop early closes the body's source. */
async function firstChars(parts: AsyncIterable<string>, max: number): Promise<string> {
  let text = "";
  for await (const part of parts) {
    text += part;
    if (text.length >= max) return text.slice(0, max);
  }
  return text;
}

/** The call on the lean client's sockets (`http:` engines), else through the keep-alive fetch. */
function openAnswer(
  url: string,
  init: { headers: Record<string, string>; body: string; signal: AbortSignal },
) {
  const lean = openLeanEngineStream(url, { method: "POST", ...init });
  if (lean !== undefined)
    return lean.then(
      ({ status, parts }): OpenedAnswer => ({
        status,
        parts: () => parts,
        text: () => firstChars(parts, MAX_ERROR_BODY_CHARS),
      }),
    );
  return sseFetch.fetch(url, { method: "POST", ...init }).then((response): OpenedAnswer => {
    const parts = () => response.body.setEncoding("utf8");
    return { status: response.status, parts, text: () => firstChars(parts(), MAX_ERROR_BODY_CHARS) };
  });
}

/**
 * Why a stream's engine call is aborted when its scope closes, made into a `BackendUnavailable`
 * only if a read sees it: nearly every stream closes after its end, and an error built for each
 * (a stack captured, kept with the signal) was promoted with it.
 */
const STREAM_CLOSED = new Error("stream closed");

/**
 * POSTs `body` and opens the answer as an OpenAI-style SSE stream of JSON objects, read by plain
 * async iteration (one timer per stream, no per-piece Effect): the hot path of a streamed relay.
 *
 * - The request lives in the scope: closing it aborts the request, so an engine stops generating
 *   for a client that went away.
 * - `target.timeoutMs` is a deadline for the whole stream, as for a unary call: past it the
 *   pending read fails with BackendTimeout.
 * - A stream that ends without `data: [DONE]` was cut (engine crash, dropped socket):
 *   BackendUnavailable, never a silent short answer. `[DONE]` ends it, whether or not the engine
 *   ends its response then.
 * - An `{error: ...}` event in the middle of the stream is the engine giving up mid-way.
 * - `caller`, when it aborts, aborts the request, and the opening or the pending read fails with
 *   its reason (`abortedError`): a relay's time limit on its opening, without a timer fiber.
 *
 * Iteration throws only {@link BackendError}s.
 */
export const openSse: (
  target: EngineTarget,
  path: string,
  body: unknown,
  caller?: AbortSignal,
) => Effect.Effect<SsePieces, BackendError, Scope.Scope> = Effect.fnUntraced(
  function* (target, path, body, caller) {
    const backend = target.backendId;
    if (caller?.aborted === true) return yield* Effect.fail(abortedError(caller, backend));
    const controller = new AbortController();
    const deadline = new StreamDeadline({
      totalMs: target.timeoutMs,
      onExpire: () => controller.abort(new BackendTimeout({ backend, timeoutMs: target.timeoutMs })),
    });
    // The caller's signal (a relay's time limit) aborts the engine's call with its own error.
    const onCaller = () => controller.abort(abortedError(caller as AbortSignal, backend));
    yield* onScopeClose(() => {
      deadline.clear();
      caller?.removeEventListener("abort", onCaller);
      controller.abort(STREAM_CLOSED);
    });
    caller?.addEventListener("abort", onCaller, { once: true });
    const failure = (cause: unknown): BackendError =>
      deadline.expired !== undefined
        ? new BackendTimeout({ backend, timeoutMs: target.timeoutMs })
        : isBackendError(cause)
          ? cause
          : cause === STREAM_CLOSED
            ? new BackendUnavailable({ backend, reason: "stream closed" })
            : new BackendUnavailable({ backend, reason: describeFetchFailure(cause) });
    const response = yield* Effect.tryPromise({
      // No signal of its own: an interrupted opening closes the scope, which aborts the request.
      try: () => {
        return openAnswer(engineUrl(target.baseUrl, path), {
          headers: {
            ...(target.headers ?? {}),
            "content-type": "application/json",
            accept: "text/event-stream",
          },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      },
      catch: failure,
    });
    if (response.status < 200 || response.status > 299) {
      const text = yield* Effect.tryPromise({ try: () => response.text(), catch: failure });
      return yield* Effect.fail(statusError(backend, response.status, text));
    }
    return new SsePieces(backend, response.parts(), failure);
  },
);

/**
 * An engine's SSE answer as pieces: each part read is parsed into its events at once, handed over
 * one by one, and those already parsed are also there without waiting (`nextReady`). `next()`
 * throws only BackendErrors: a transport failure, an event that is no piece (invalid JSON, an
 * engine's error), a stream that ends before `[DONE]`.
 */
export class SsePieces implements PieceIterator {
  readonly #parser = new SseStreamParser();
  readonly #body: AsyncIterator<string>;
  /** The body's parts already received, where its reader tells (the lean client's does). */
  readonly #readyPart: (() => string | undefined) | undefined;
  /** The data of the events parsed from the last part read, and how many were handed over. */
  #events: string[] = [];
  #at = 0;
  /** Characters read since the last part that completed an event (what the parser may hold). */
  #unfinished = 0;
  /** An event that was no piece (invalid JSON, an engine error), thrown by the next `next()`. */
  #failed: BackendError | undefined;
  #ended = false;

  constructor(
    private readonly backend: string,
    body: AsyncIterable<string>,
    private readonly failure: (cause: unknown) => BackendError,
  ) {
    const iterator = body[Symbol.asyncIterator]() as AsyncIterator<string> & Partial<ReadyParts>;
    this.#body = iterator;
    this.#readyPart = iterator.nextReady === undefined ? undefined : () => iterator.nextReady?.();
  }

  nextReady(): StreamPiece | undefined {
    if (this.#failed !== undefined) return undefined;
    // Events of the parts already received: an engine's HTTP chunks that came in one read arrive
    // as several parts, each parsed here in turn.
    while (this.#at >= this.#events.length) {
      const part = this.#ended ? undefined : this.#readyPart?.();
      if (part === undefined) return undefined;
      if (!this.#parse(part)) return undefined;
    }
    const data = this.#events[this.#at++] as string;
    try {
      return pieceOf(this.backend, data);
    } catch (cause) {
      this.#failed = this.failure(cause);
      return undefined;
    }
  }

  async next(): Promise<IteratorResult<StreamPiece>> {
    for (;;) {
      const ready = this.nextReady();
      if (ready !== undefined) return { done: false, value: ready };
      if (this.#failed !== undefined) throw this.#failed;
      // `[DONE]` ends the stream: whatever the engine sends after it is never read, and an engine
      // that keeps the response open after it does not hold the relay's last chunk back. The body's
      // own end usually follows at once; the stream's scope closes the call if it has not.
      if (this.#parser.done) return { done: true, value: undefined };
      if (this.#ended) {
        if (!this.#parser.done)
          throw new BackendUnavailable({ backend: this.backend, reason: "stream ended before [DONE]" });
        return { done: true, value: undefined };
      }
      let part: IteratorResult<string>;
      try {
        part = await this.#body.next();
      } catch (cause) {
        throw this.failure(cause);
      }
      if (part.done === true) this.#ended = true;
      else this.#parse(part.value);
    }
  }

  /** Parses one part of the body; `false` (and the stream failed) when no event ends in sight. */
  #parse(part: string): boolean {
    this.#events = this.#parser.push(part);
    this.#at = 0;
    this.#unfinished = this.#events.length > 0 ? 0 : this.#unfinished + part.length;
    if (this.#unfinished <= MAX_ENGINE_EVENT_CHARS) return true;
    this.#failed = new BackendRejected({
      backend: this.backend,
      status: 502,
      reason: `engine sent an event longer than ${MAX_ENGINE_EVENT_CHARS} characters`,
    });
    return false;
  }

  async return(): Promise<IteratorResult<StreamPiece>> {
    this.#ended = true;
    await this.#body.return?.();
    return { done: true, value: undefined };
  }
}

function pieceOf(backend: string, data: string): StreamPiece {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new BackendRejected({ backend, status: 502, reason: "engine answered with invalid JSON" });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BackendRejected({ backend, status: 502, reason: "stream event is not a JSON object" });
  }
  const piece = value as StreamPiece;
  // vLLM sends `{"object": "error", ...}` (newer: `{"error": {...}}`), TGI and llama.cpp `{"error": ...}`.
  if ((piece.error !== undefined || piece.object === "error") && piece.choices === undefined) {
    throw new BackendUnavailable({
      backend,
      reason: `engine error mid-stream: ${engineErrorMessage(data)}`,
    });
  }
  return piece;
}

/** {@link openSse} as an Effect stream, for callers that compose streams. */
export function requestSse(
  target: EngineTarget,
  path: string,
  body: unknown,
): Stream.Stream<StreamPiece, BackendError> {
  return Stream.unwrapScoped(
    Effect.map(openSse(target, path, body), (iterator) => streamOfIterator(target.backendId, iterator)),
  );
}

/** An open piece iterator as an Effect stream (failures are the iterator's BackendErrors). */
export function streamOfIterator(
  backend: string,
  iterator: AsyncIterator<StreamPiece>,
): Stream.Stream<StreamPiece, BackendError> {
  return Stream.fromAsyncIterable({ [Symbol.asyncIterator]: () => iterator }, (cause) =>
    isBackendError(cause) ? cause : new BackendUnavailable({ backend, reason: describeFetchFailure(cause) }),
  );
}

/** The call timeout applied to a whole stream: past it the stream fails with BackendTimeout and is torn down. */
export function withStreamDeadline<A, E>(
  target: EngineTarget,
  stream: Stream.Stream<A, E>,
): Stream.Stream<A, E | BackendTimeout> {
  const deadline = Effect.sleep(target.timeoutMs).pipe(
    Effect.zipRight(
      Effect.fail(new BackendTimeout({ backend: target.backendId, timeoutMs: target.timeoutMs })),
    ),
  );
  return Stream.interruptWhen(stream, deadline);
}
