import { SseStreamParser } from "@pocket-ai/protocol";
import { Effect, Stream } from "effect";
import {
  type BackendError,
  BackendRejected,
  BackendTimeout,
  BackendUnavailable,
  type StreamPiece,
} from "./backend.js";
import {
  describeFetchFailure,
  type EngineTarget,
  engineErrorMessage,
  engineUrl,
  expectRecord,
  parseEngineJson,
  statusError,
} from "./engine-http.js";

/**
 * POSTs `body` and reads the answer as an OpenAI-style SSE stream of JSON objects.
 *
 * - The request lives in the stream's scope: ending, failing or interrupting the stream aborts
 *   it, so an engine stops generating for a client that went away.
 * - `target.timeoutMs` is a deadline for the whole stream, as for a unary call.
 * - A stream that ends without `data: [DONE]` was cut (engine crash, dropped socket):
 *   BackendUnavailable, never a silent short answer.
 * - An `{error: ...}` event in the middle of the stream is the engine giving up mid-way.
 */
export function requestSse(
  target: EngineTarget,
  path: string,
  body: unknown,
): Stream.Stream<StreamPiece, BackendError> {
  const backend = target.backendId;
  const unavailable = (cause: unknown) =>
    new BackendUnavailable({ backend, reason: describeFetchFailure(cause) });
  const pieces = Stream.unwrapScoped(
    Effect.gen(function* () {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (controller) => Effect.sync(() => controller.abort()),
      );
      const response = yield* Effect.tryPromise({
        try: () =>
          fetch(engineUrl(target.baseUrl, path), {
            method: "POST",
            headers: {
              ...(target.headers ?? {}),
              "content-type": "application/json",
              accept: "text/event-stream",
            },
            body: JSON.stringify(body),
            signal: controller.signal,
          }),
        catch: unavailable,
      });
      if (!response.ok) {
        const text = yield* Effect.tryPromise({ try: () => response.text(), catch: unavailable });
        return yield* Effect.fail(statusError(backend, response.status, text));
      }
      const stream = response.body;
      if (stream === null) {
        return yield* Effect.fail(
          new BackendRejected({ backend, status: 502, reason: "stream response has no body" }),
        );
      }
      const parser = new SseStreamParser();
      const cutShort = Stream.suspend(() =>
        parser.done
          ? Stream.empty
          : Stream.fail(new BackendUnavailable({ backend, reason: "stream ended before [DONE]" })),
      );
      return Stream.fromReadableStream({ evaluate: () => stream, onError: unavailable }).pipe(
        Stream.decodeText(),
        Stream.mapConcat((chunk) => parser.push(chunk)),
        Stream.mapEffect((data) =>
          parseEngineJson(backend, data).pipe(
            Effect.flatMap((value) => expectRecord(backend, value, "stream event")),
            Effect.flatMap((piece) => failOnErrorEvent(backend, piece)),
          ),
        ),
        Stream.concat(cutShort),
      );
    }),
  );
  return withStreamDeadline(target, pieces);
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

function failOnErrorEvent(
  backend: string,
  piece: StreamPiece,
): Effect.Effect<StreamPiece, BackendUnavailable> {
  // vLLM sends `{"object": "error", ...}` (newer: `{"error": {...}}`), TGI and llama.cpp `{"error": ...}`.
  const isError = (piece.error !== undefined || piece.object === "error") && piece.choices === undefined;
  if (!isError) return Effect.succeed(piece);
  return Effect.fail(
    new BackendUnavailable({
      backend,
      reason: `engine error mid-stream: ${engineErrorMessage(JSON.stringify(piece))}`,
    }),
  );
}
