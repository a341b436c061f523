import { Cause, Chunk, Effect, Exit, Option, type Scope, Stream } from "effect";
import {
  type Backend,
  type BackendBusy,
  type BackendError,
  BackendUnavailable,
  isBackendError,
  type PieceIterator,
  type StreamPiece,
} from "./backend.js";

/**
 * Opens a backend's stream as a plain iterator in the caller's scope: the backend's own fast path
 * (`openStream`) when it has one, else its Effect stream pulled chunk by chunk. `next()` throws
 * only the backend's errors; closing the scope ends the stream and aborts the engine request.
 * `signal` reaches the backend's fast path (see `Backend.openStream`); the caller bounds the
 * Effect stream's reads itself.
 */
export function openPieces(
  backend: Backend,
  operation: "completions" | "chat.completions",
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Effect.Effect<PieceIterator, BackendError, Scope.Scope> {
  if (backend.openStream !== undefined) return backend.openStream(operation, body, signal);
  return Effect.map(Stream.toPull(backend.stream(operation, body)), iteratorOfPull);
}

/** A pull (one Effect per chunk of pieces) as an iterator; each pull may return several pieces. */
function iteratorOfPull(
  pull: Effect.Effect<Chunk.Chunk<StreamPiece>, Option.Option<BackendError>>,
): AsyncIterator<StreamPiece> {
  let buffered: StreamPiece[] = [];
  let at = 0;
  let ended = false;
  const next = async (): Promise<IteratorResult<StreamPiece>> => {
    while (at >= buffered.length) {
      if (ended) return { done: true, value: undefined };
      const exit = await Effect.runPromiseExit(pull);
      if (Exit.isFailure(exit)) {
        ended = true;
        const failure = Cause.failureOption(exit.cause);
        if (Option.isNone(failure)) throw new Error("the backend stream failed unexpectedly");
        if (Option.isSome(failure.value)) throw failure.value.value;
        return { done: true, value: undefined };
      }
      buffered = Chunk.toArray(exit.value) as StreamPiece[];
      at = 0;
    }
    const value = buffered[at] as StreamPiece;
    at += 1;
    return { done: false, value };
  };
  return { next };
}

/** Whether a thrown value is one of the backend's tagged errors (or the pool's BackendBusy). */
export function isPoolError(value: unknown): value is BackendError | BackendBusy {
  return isBackendError(value) || (value as { _tag?: unknown } | null)?._tag === "BackendBusy";
}

/** A failure met while reading a stream, as a pool error: anything unexpected is the backend unreachable. */
export function asPoolError(backend: string, cause: unknown): BackendError | BackendBusy {
  if (isPoolError(cause)) return cause;
  return new BackendUnavailable({ backend, reason: cause instanceof Error ? cause.message : String(cause) });
}
