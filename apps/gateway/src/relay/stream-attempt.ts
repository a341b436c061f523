import { type RelayStreamChunk, RelayStreamVerifier } from "@pocket-ai/protocol";
import { abortableIterator, StreamDeadline } from "@pocket-ai/runtime";
import { Cause, Effect } from "effect";
import type { Route } from "../routing/route-plan.js";
import { relayTimeoutMs } from "../routing/routing-config.js";
import { type AnswerRefusal, envelopeRefusal, refusal } from "./answer-refusal.js";
import { type AttemptContext, noteFailure, noteSuccess } from "./attempt-context.js";
import {
  type AttemptFailure,
  invalidAnswer,
  NodeUnreachable,
  transportFailure,
  unreachable,
} from "./attempt-errors.js";
import type { DispatchRequest } from "./dispatcher.js";
import { judgeRefusal, type RefusalCheck } from "./judge-refusal.js";
import { signRelay } from "./relay-envelope.js";
import { StreamChecks } from "./stream-checks.js";
import { refusalCheck } from "./unary-attempt.js";

/** A stream whose first chunk arrived and verified: the rest is pulled by `stream-events.ts`. */
export interface OpenedStream {
  readonly route: Route;
  readonly requestHash: string;
  readonly verifier: RelayStreamVerifier;
  /** The node's chunks; a pending `next()` fails as soon as the deadline passes or the stream is aborted. */
  readonly iterator: AsyncIterator<unknown>;
  readonly controller: AbortController;
  readonly first: RelayStreamChunk;
  readonly ttftMs: number;
  /** The tier's timeout for the whole stream: one timer, which aborts `controller` when it passes. */
  readonly deadline: StreamDeadline;
  readonly check: RefusalCheck;
  /** The chunk checks, the first chunk's data already passed (its text counted). */
  readonly checks: StreamChecks;
}

/** A failed tRPC call: a coded (unsigned) refusal, judged, or the node unreachable. */
function callFailure(nodeAddress: string, error: unknown, check: RefusalCheck): AttemptFailure {
  const coded = transportFailure(error);
  return coded === undefined
    ? unreachable(nodeAddress, error)
    : judgeRefusal(nodeAddress, { ...coded, signed: false }, check);
}

/**
 * Pulls one chunk. The deadline's timer aborts a pending pull (no timer per chunk): a stall past
 * the tier's timeout or a transport failure is the node unreachable.
 */
export async function pullChunk(
  iterator: AsyncIterator<unknown>,
  nodeAddress: string,
  deadline: StreamDeadline,
  check: RefusalCheck,
): Promise<IteratorResult<unknown> | AttemptFailure> {
  try {
    return await iterator.next();
  } catch (error) {
    return pullFailure(error, nodeAddress, deadline, check);
  }
}

/** Why a pull failed: past the deadline the node stalled, else the call's failure (see {@link pullChunk}). */
export function pullFailure(
  error: unknown,
  nodeAddress: string,
  deadline: StreamDeadline,
  check: RefusalCheck,
): AttemptFailure {
  return deadline.expired === undefined ? callFailure(nodeAddress, error, check) : stalled(nodeAddress);
}

function stalled(nodeAddress: string): AttemptFailure {
  return new NodeUnreachable({
    nodeAddress,
    timedOut: true,
    detail: "the stream stalled past the tier's timeout",
  });
}

/**
 * The reason a stream's call is aborted when the gateway is done with it: one shared error, since
 * `abort()` without a reason builds a `DOMException` (with its stack) for every stream.
 */
export const STREAM_CLOSED = new Error("the gateway closed the relay's stream");

/** Whether a pull failed (and why) rather than returned a chunk or the end. */
export function isPullFailure(pulled: IteratorResult<unknown> | AttemptFailure): pulled is AttemptFailure {
  return "_tag" in pulled;
}

/** Signs and sends the relay, then reads and checks the first chunk (see {@link openStream}). */
const openAttempt = Effect.fnUntraced(function* (
  ctx: AttemptContext,
  route: Route,
  request: DispatchRequest,
  controller: AbortController,
  deadline: StreamDeadline,
) {
  const address = route.node.address;
  const { envelope, requestHash } = signRelay(ctx.key, route, request, true, ctx.now());
  const started = performance.now();
  const client = ctx.clients.get(route.node.endpoint);
  const check = refusalCheck(ctx, route, request, true);
  const iterable = yield* Effect.tryPromise({
    try: () => client.relayStream.mutate(envelope, { signal: controller.signal }),
    catch: (e) => (deadline.expired === undefined ? callFailure(address, e, check) : stalled(address)),
  });
  const iterator = abortableIterator(
    (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator](),
    controller.signal,
  );
  const pulled = yield* Effect.promise(() => pullChunk(iterator, address, deadline, check));
  if (isPullFailure(pulled)) return yield* Effect.fail(pulled);
  const next = pulled;
  const invalid = (why: AnswerRefusal) => invalidAnswer(address, why);
  if (next.done === true)
    return yield* invalid(refusal("STREAM_INCOMPLETE", "the stream ended without a chunk"));
  const verifier = new RelayStreamVerifier({ publicKey: route.node.publicKey, requestHash });
  const accepted = verifier.accept(next.value);
  if (!accepted.ok) return yield* invalid(envelopeRefusal("stream chunk", accepted.error, next.value));
  const first = accepted.value.chunk;
  // The first chunk must be a signed head: the node is committed to before the client sees a byte.
  if (first.signature === undefined)
    return yield* invalid(refusal("UNSIGNED", "the first stream chunk is not signed"));
  if (first.final?.outcome === "error") {
    const error = first.final.error!;
    return yield* judgeRefusal(
      address,
      { code: error.code, detail: error.detail ?? error.message, signed: true },
      check,
    );
  }
  const checks = new StreamChecks(route, request);
  // A final chunk may carry the stream's last data (all of it, for a stream of one chunk): the data
  // is checked as any chunk's, then the trailer against the text it holds.
  const lie =
    (carriesData(first) ? checks.data(first.data) : undefined) ??
    (first.final === undefined ? undefined : checks.trailer(first.final));
  if (lie !== undefined) return yield* invalid(lie);
  const ttftMs = performance.now() - started;
  noteSuccess(ctx, route, "ttft", ttftMs);
  return { route, requestHash, verifier, iterator, controller, first, ttftMs, deadline, check, checks };
});

/**
 * Opens a streaming relay on one node and waits for its first chunk, verified: a data chunk (the
 * stream is open), an `ok` final chunk (an empty answer), or a signed refusal. Anything that goes
 * wrong before the first data chunk fails the attempt, so the dispatcher can try another node:
 * the first chunk must be a signed head, and it meets every check a later chunk meets
 * ({@link StreamChecks}: shape, output limit, a final trailer's claims) before the client sees a
 * byte, so a lie it carries costs the client nothing.
 */
export function openStream(
  ctx: AttemptContext,
  route: Route,
  request: DispatchRequest,
): Effect.Effect<OpenedStream, AttemptFailure> {
  const controller = new AbortController();
  const deadline = new StreamDeadline({
    totalMs: relayTimeoutMs(ctx.settings, route.servedServiceId, route.servedTier),
    onExpire: () => controller.abort(new Error("the stream stalled past the tier's timeout")),
  });
  // Counted from here, as the deadline is: the attempt runs as soon as it is made.
  const started = performance.now();
  return openAttempt(ctx, route, request, controller, deadline).pipe(
    Effect.tapError((failure) => Effect.sync(() => noteFailure(ctx, failure, { route, request }))),
    Effect.onExit((exit) =>
      exit._tag === "Failure"
        ? Effect.sync(() => {
            deadline.clear();
            controller.abort(STREAM_CLOSED);
            // Given up before the first chunk (the client left): the node's time to it was longer.
            if (Cause.isInterruptedOnly(exit.cause))
              ctx.selector.stats.waited(route.node.address, "ttft", performance.now() - started);
          })
        : Effect.void,
    ),
  );
}

/** Whether a chunk carries data: every chunk but a final one that carries none (`null`). */
export const carriesData = (chunk: RelayStreamChunk): boolean =>
  chunk.final === undefined || (chunk.data !== null && chunk.data !== undefined);
