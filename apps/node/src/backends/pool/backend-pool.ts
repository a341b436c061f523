import { abortableIterator } from "@pocket-ai/runtime";
import {
  Cause,
  Duration,
  Effect,
  Either,
  ExecutionStrategy,
  Exit,
  Option,
  Schedule,
  Scope,
  Stream,
} from "effect";
import type { BackendConfig } from "../../config/node-config.js";
import {
  type Backend,
  type BackendBusy,
  type BackendCapabilities,
  type BackendError,
  BackendRejected,
  type BackendTimeout,
  BackendUnavailable,
  type CallDeadline,
  type PieceIterator,
  type StreamPiece,
} from "../backend.js";
import { commonCapabilities } from "../common-capabilities.js";
import { withDeadline } from "../deadline.js";
import { asPoolError, openPieces } from "../piece-iterator.js";
import { onScopeClose } from "../scope-finalizer.js";
import { BackendSlots, type SlotMember } from "./backend-slots.js";
import { type BackendObserver, outcomeOf, type PoolOperation } from "./pool-observer.js";

export type { BackendObserver, CallOutcome, PoolOperation } from "./pool-observer.js";

export type PoolError = BackendError | BackendBusy;

export interface BackendPoolOptions {
  /** Pause between health rounds (default 10 s). */
  readonly healthIntervalMs?: number;
  /** A health probe slower than this counts as a failure (default 5 s). */
  readonly healthTimeoutMs?: number;
  readonly observer?: BackendObserver;
}

/** Numbers for Prometheus gauges, read at scrape time. */
export interface BackendPoolStats {
  readonly serviceId: string;
  readonly queueDepth: number;
  readonly inFlight: number;
  readonly backends: readonly {
    readonly id: string;
    readonly kind: string;
    readonly healthy: boolean;
    readonly inFlight: number;
    readonly maxConcurrency: number;
  }[];
}

/** The backends of one service, seen as one: same calls as a `Backend`, plus `BackendBusy`. */
export interface BackendPool {
  readonly serviceId: string;
  /** What every backend of the pool can do (a relay may land on any of them). */
  readonly capabilities: BackendCapabilities;
  /** A `deadline` bounds the whole call, the wait for a seat and any retry included. */
  completions(
    body: Record<string, unknown>,
    deadline?: CallDeadline,
  ): Effect.Effect<Record<string, unknown>, PoolError>;
  chatCompletions(
    body: Record<string, unknown>,
    deadline?: CallDeadline,
  ): Effect.Effect<Record<string, unknown>, PoolError>;
  /**
   * {@link completions} or {@link chatCompletions} in plain callbacks, for a relay served without a
   * fiber: started only where a seat is free now and its backend has the callback form
   * (`Backend.startUnary`), else `undefined` (nothing started: the Effect forms serve the call).
   * `done` is called once with the call's outcome, its seat freed and the call reported first: an
   * `Exit`, or, for a failure another backend may retry, the Effect that retries it (waiting for a
   * seat if it must). The returned function cancels the call before then: it aborts the engine
   * request, frees the seat and reports the call interrupted; `done` is then never called.
   */
  startUnary(
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
    deadline: CallDeadline | undefined,
    done: (outcome: Effect.Effect<Record<string, unknown>, PoolError>) => void,
  ): (() => void) | undefined;
  stream(
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
  ): Stream.Stream<StreamPiece, PoolError>;
  /**
   * {@link stream} as a plain iterator opened in the caller's scope, for the per-piece hot path:
   * the seat, the engine request and the first piece are taken here, in Effect (a backend that
   * fails before its first piece is retried on another, as for `stream`); `next()` then throws
   * only BackendErrors. Closing the scope frees the seat and aborts the engine request; the
   * observer hears the scope's exit. `signal` bounds the opening (the wait for a seat, the engine
   * request, the first piece): when it aborts, the opening fails with `abortedError` of it.
   */
  open(
    operation: "completions" | "chat.completions",
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Effect.Effect<PieceIterator, PoolError, Scope.Scope>;
  imagesGenerations(body: Record<string, unknown>): Effect.Effect<Record<string, unknown>, PoolError>;
  imagesEdits(body: Record<string, unknown>): Effect.Effect<Record<string, unknown>, PoolError>;
  embeddings(body: Record<string, unknown>): Effect.Effect<Record<string, unknown>, PoolError>;
  /** Takes no seat: counting tokens is cheap and happens before the relay queues for one. */
  tokenize(text: string): Effect.Effect<number, PoolError>;
  /** One health round now (the pool also runs them on its schedule). */
  readonly checkHealth: Effect.Effect<void>;
  stats(): BackendPoolStats;
}

/**
 * Runs one service's backends: seats and queue per `BackendSlots`, health rounds in a fiber of the
 * caller's scope (closing the scope stops them), and one retry policy — a relay that met
 * BackendUnavailable before any output moves to a backend it has not tried; timeouts and
 * rejections are never retried (the work may be running, or any copy would refuse it).
 */
export const makeBackendPool = (
  serviceId: string,
  backends: readonly Backend[],
  configs: readonly BackendConfig[],
  options: BackendPoolOptions = {},
): Effect.Effect<BackendPool, never, Scope.Scope> =>
  Effect.gen(function* () {
    const observer = options.observer;
    const members: SlotMember[] = backends.map((_, index) => ({
      maxConcurrency: configs[index]?.maxConcurrency ?? 4,
      maxQueue: configs[index]?.maxQueue ?? 32,
      inFlight: 0,
      healthy: true,
      lastPicked: 0,
    }));
    const slots = new BackendSlots(serviceId, members);
    const backendAt = (index: number): Backend => backends[index] as Backend;

    /** Reports one call to the observer (wall-clock seconds, as the unary path's `attempt` does). */
    const report = (
      index: number,
      operation: PoolOperation,
      startedMs: number,
      exit: Exit.Exit<unknown, PoolError>,
    ) => observer?.onCall(backendAt(index).id, operation, (Date.now() - startedMs) / 1000, outcomeOf(exit));
    /** A backend's seat for a stream, held (and the call reported) until the scope closes. */
    const seat = Effect.fnUntraced(function* (
      tried: ReadonlySet<number>,
      label: PoolOperation,
      signal?: AbortSignal,
    ) {
      const index = yield* slots.acquire(tried, signal);
      const started = Date.now();
      yield* onScopeClose((exit) => report(index, label, started, exit as Exit.Exit<unknown, PoolError>));
      return index;
    });
    const timed = <A>(index: number, operation: PoolOperation, call: Effect.Effect<A, BackendError>) =>
      Effect.suspend(() => {
        const started = Date.now();
        return Effect.onExit(call, (exit) => Effect.sync(() => report(index, operation, started, exit)));
      });
    /** A unary call that waited for its seat: the seat's index and the call's outcome. */
    const queuedCall = Effect.fnUntraced(function* <A>(
      tried: ReadonlySet<number>,
      operation: PoolOperation,
      call: (backend: Backend) => Effect.Effect<A, BackendError>,
    ) {
      const index = yield* slots.acquire(tried);
      const result = yield* Effect.either(timed(index, operation, call(backendAt(index))));
      return { index, result };
    });

    /** A retry that cannot get a seat reports the failure that caused it, not its own. */
    const retryOr = <A>(
      error: BackendError,
      tried: ReadonlySet<number>,
      again: (tried: ReadonlySet<number>) => A,
      fail: A,
    ) => (error._tag === "BackendUnavailable" && slots.hasCandidate(tried) ? again(tried) : fail);

    /**
     * One unary call on a backend of the pool. A `deadline` bounds all of it: a backend that
     * honours deadlines ends its engine request at it; any other call, and the wait for a seat, is
     * bounded here.
     */
    const unary = <A>(
      operation: PoolOperation,
      call: (backend: Backend, deadline?: CallDeadline) => Effect.Effect<A, BackendError>,
      deadline?: CallDeadline,
      tried: ReadonlySet<number> = new Set(),
    ): Effect.Effect<A, PoolError> => {
      const bounded = <X, E>(effect: Effect.Effect<X, E>): Effect.Effect<X, E | BackendTimeout> =>
        deadline === undefined
          ? effect
          : withDeadline(effect, deadline.at - performance.now(), deadline.error);
      const callOn = (backend: Backend) =>
        deadline === undefined || backend.honorsDeadline === true
          ? call(backend, deadline)
          : bounded(call(backend));
      /** What follows a failed attempt on `index`: another backend, or the failure itself. */
      const after = (error: BackendError, tried: ReadonlySet<number>, index: number) =>
        retryOr(
          error,
          new Set([...tried, index]),
          (again) => attempt(again).pipe(Effect.catchTag("BackendBusy", () => Effect.fail(error))),
          Effect.fail(error),
        );
      // A seat that is free now is taken without a scope or a queue: the call runs interruptible,
      // and its exit — whatever it is — frees the seat and reports the call before anything else.
      const attempt = (tried: ReadonlySet<number>): Effect.Effect<A, PoolError> =>
        Effect.uninterruptibleMask((restore) => {
          const index = slots.tryTake(tried);
          if (index === undefined) return restore(bounded(queued(tried)));
          const backend = backendAt(index);
          const started = Date.now();
          const seconds = () => (Date.now() - started) / 1000;
          return Effect.matchCauseEffect(restore(callOn(backend)), {
            onSuccess: (value) => {
              slots.release(index);
              observer?.onCall(backend.id, operation, seconds(), "ok");
              return Effect.succeed(value);
            },
            onFailure: (cause) => {
              slots.release(index);
              const exit = Exit.failCause(cause);
              observer?.onCall(backend.id, operation, seconds(), outcomeOf(exit));
              const failure = Cause.failureOption(cause);
              return Option.isSome(failure) ? restore(after(failure.value, tried, index)) : exit;
            },
          });
        });
      /** No seat free now: wait in the queue (or fail with BackendBusy / BackendUnavailable). */
      const queued = (tried: ReadonlySet<number>): Effect.Effect<A, PoolError> =>
        Effect.scoped(queuedCall(tried, operation, call)).pipe(
          Effect.flatMap(({ index, result }) =>
            Either.isRight(result) ? Effect.succeed(result.right) : after(result.left, tried, index),
          ),
        );
      return attempt(tried);
    };

    const textCall =
      (operation: "completions" | "chat.completions", body: Record<string, unknown>) =>
      (backend: Backend, limit?: CallDeadline) =>
        operation === "completions" ? backend.completions(body, limit) : backend.chatCompletions(body, limit);
    // The first attempt on a seat free now, as `unary`'s, in callbacks: its end (or its cancel)
    // frees the seat and reports the call before anything else, once. A retry takes `unary`.
    const startUnary: BackendPool["startUnary"] = (operation, body, deadline, done) => {
      const index = slots.tryTake(NO_BACKEND_TRIED);
      if (index === undefined) return undefined;
      const backend = backendAt(index);
      const started = Date.now();
      const seconds = () => (Date.now() - started) / 1000;
      let finished = false;
      const ended = (exit: Exit.Exit<Record<string, unknown>, BackendError>) => {
        if (finished) return;
        finished = true;
        slots.release(index);
        observer?.onCall(backend.id, operation, seconds(), outcomeOf(exit));
        if (Exit.isSuccess(exit)) return done(exit);
        const failure = Cause.failureOption(exit.cause);
        if (Option.isNone(failure)) return done(exit);
        const error = failure.value;
        const tried = new Set([index]);
        done(
          retryOr(
            error,
            tried,
            (again) =>
              unary(operation, textCall(operation, body), deadline, again).pipe(
                Effect.catchTag("BackendBusy", () => Effect.fail(error)),
              ),
            exit,
          ),
        );
      };
      let cancel: (() => void) | undefined;
      try {
        cancel = backend.startUnary?.(operation, body, deadline, ended);
      } catch (defect) {
        // A call that throws as it starts is a defect of the call, as in its Effect form.
        ended(Exit.die(defect));
        return () => undefined;
      }
      if (cancel === undefined) {
        // This body takes the Effect form: the seat is given back untouched.
        if (!finished) slots.release(index);
        return undefined;
      }
      return () => {
        if (finished) return;
        finished = true;
        cancel();
        slots.release(index);
        observer?.onCall(backend.id, operation, seconds(), "interrupted");
      };
    };

    const stream = (operation: "completions" | "chat.completions", body: Record<string, unknown>) => {
      const label = streamLabel(operation);
      const attempt = (tried: ReadonlySet<number>): Stream.Stream<StreamPiece, PoolError> =>
        Stream.suspend(() => {
          let emitted = false;
          let used: number | undefined;
          const pieces = Stream.unwrapScoped(
            Effect.map(seat(tried, label), (index) => {
              used = index;
              return backendAt(index).stream(operation, body);
            }),
          );
          return pieces.pipe(
            Stream.tap(() => Effect.sync(() => (emitted = true))),
            Stream.catchAll((error): Stream.Stream<StreamPiece, PoolError> => {
              if (emitted || used === undefined || error._tag === "BackendBusy") return Stream.fail(error);
              const next = new Set([...tried, used]);
              return retryOr(
                error,
                next,
                (again) => attempt(again).pipe(Stream.catchTag("BackendBusy", () => Stream.fail(error))),
                Stream.fail(error),
              );
            }),
          );
        });
      return attempt(new Set());
    };

    /** A seat, the engine's stream and its first piece; `seated.index` names the seat once taken. */
    const openOn = Effect.fnUntraced(function* (
      tried: ReadonlySet<number>,
      label: PoolOperation,
      operation: "completions" | "chat.completions",
      body: Record<string, unknown>,
      seated: { index?: number },
      signal: AbortSignal | undefined,
    ) {
      const index = yield* seat(tried, label, signal);
      seated.index = index;
      const backend = backendAt(index);
      const iterator = yield* openPieces(backend, operation, body, signal);
      const first = yield* Effect.tryPromise({
        // A backend whose stream does not hear the signal itself (its Effect stream) is bounded
        // here too; the read left pending ends when the caller closes the stream's scope.
        try: () => (signal === undefined ? iterator : abortableIterator(iterator, signal)).next(),
        catch: (cause) => asPoolError(backend.id, cause),
      });
      return { iterator, first };
    });
    const openAttempt: (
      tried: ReadonlySet<number>,
      label: PoolOperation,
      operation: "completions" | "chat.completions",
      body: Record<string, unknown>,
      signal: AbortSignal | undefined,
    ) => Effect.Effect<PieceIterator, PoolError, Scope.Scope> = Effect.fnUntraced(
      function* (tried, label, operation, body, signal) {
        const outer = yield* Effect.scope;
        const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential);
        const seated: { index?: number } = {};
        const opened = yield* Effect.exit(
          Scope.extend(openOn(tried, label, operation, body, seated, signal), scope),
        );
        if (Exit.isSuccess(opened)) return withFirst(opened.value.first, opened.value.iterator);
        yield* Scope.close(scope, opened);
        const failure = Cause.failureOption(opened.cause);
        if (Option.isNone(failure)) return yield* Effect.failCause(opened.cause);
        const error = failure.value;
        const used = seated.index;
        if (used === undefined || error._tag === "BackendBusy") return yield* Effect.fail(error);
        const next = new Set([...tried, used]);
        return yield* retryOr(
          error,
          next,
          (again) =>
            openAttempt(again, label, operation, body, signal).pipe(
              Effect.catchTag("BackendBusy", () => Effect.fail(error)),
            ),
          Effect.fail(error),
        );
      },
    );
    const open = (
      operation: "completions" | "chat.completions",
      body: Record<string, unknown>,
      signal?: AbortSignal,
    ) => openAttempt(new Set(), streamLabel(operation), operation, body, signal);

    const tokenize = (text: string) => {
      const attempt = (tried: ReadonlySet<number>): Effect.Effect<number, PoolError> => {
        const index = members.findIndex((member, i) => member.healthy && !tried.has(i));
        if (index < 0) {
          return Effect.fail(
            new BackendUnavailable({ backend: `pool:${serviceId}`, reason: "no healthy backend" }),
          );
        }
        return timed(index, "tokenize", backendAt(index).tokenize(text)).pipe(
          Effect.catchAll((error) => retryOr(error, new Set([...tried, index]), attempt, Effect.fail(error))),
        );
      };
      return attempt(new Set());
    };

    const healthTimeout = Duration.millis(options.healthTimeoutMs ?? 5_000);
    const checkHealth = Effect.forEach(
      backends,
      (backend, index) =>
        backend.health().pipe(
          Effect.timeout(healthTimeout),
          // A defect in one backend's probe marks that backend down; it never stops the health fiber.
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.sync(() => {
              const healthy = Exit.isSuccess(exit);
              const before = members[index]?.healthy;
              slots.setHealthy(index, healthy);
              if (before !== healthy) observer?.onHealthChange?.(backend.id, healthy);
            }),
          ),
        ),
      { concurrency: "unbounded", discard: true },
    );
    yield* Effect.forkScoped(
      Effect.repeat(checkHealth, Schedule.spaced(Duration.millis(options.healthIntervalMs ?? 10_000))),
    );

    return {
      serviceId,
      capabilities: commonCapabilities(backends.map((backend) => backend.capabilities)),
      completions: (body, deadline) => unary("completions", textCall("completions", body), deadline),
      chatCompletions: (body, deadline) =>
        unary("chat.completions", textCall("chat.completions", body), deadline),
      startUnary,
      stream,
      open,
      imagesGenerations: (body) => unary("images.generations", (backend) => backend.imagesGenerations(body)),
      imagesEdits: (body) => unary("images.edits", (backend) => backend.imagesEdits(body)),
      embeddings: (body) =>
        unary("embeddings", (backend) =>
          backend.embeddings === undefined
            ? Effect.fail(
                new BackendRejected({ backend: backend.id, status: 501, reason: "makes no embeddings" }),
              )
            : backend.embeddings(body),
        ),
      tokenize,
      checkHealth,
      stats: () => ({
        serviceId,
        queueDepth: slots.queueDepth,
        inFlight: members.reduce((sum, member) => sum + member.inFlight, 0),
        backends: backends.map((backend, index) => ({
          id: backend.id,
          kind: backend.kind,
          healthy: members[index]?.healthy ?? false,
          inFlight: members[index]?.inFlight ?? 0,
          maxConcurrency: members[index]?.maxConcurrency ?? 0,
        })),
      }),
    } satisfies BackendPool;
  });

/** A first attempt's backends already tried: none. */
const NO_BACKEND_TRIED: ReadonlySet<number> = new Set();

/** The iterator again, with the piece already read put back in front (and its `nextReady`). */
function withFirst(first: IteratorResult<StreamPiece>, rest: PieceIterator): PieceIterator {
  let pending: IteratorResult<StreamPiece> | undefined = first;
  const next = () => {
    const held = pending;
    pending = undefined;
    return held === undefined ? rest.next() : Promise.resolve(held);
  };
  const ready = rest.nextReady;
  if (ready === undefined) return { next };
  return {
    next,
    nextReady: () => (pending === undefined ? ready.call(rest) : undefined),
  };
}

const streamLabel = (operation: "completions" | "chat.completions"): PoolOperation =>
  operation === "completions" ? "completions.stream" : "chat.completions.stream";
