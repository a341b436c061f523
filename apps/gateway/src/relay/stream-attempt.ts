import { type RelayStreamChunk, RelayStreamVerifier } from "@pocket-ai/protocol";
import { Duration, Effect } from "effect";
import type { Route } from "../routing/route-plan.js";
import { relayTimeoutMs } from "../routing/routing-config.js";
import { type AttemptContext, noteFailure, noteSuccess } from "./attempt-context.js";
import {
  type AttemptFailure,
  InvalidNodeResponse,
  NodeUnreachable,
  transportFailure,
  unreachable,
} from "./attempt-errors.js";
import type { DispatchRequest } from "./dispatcher.js";
import { judgeRefusal, type RefusalCheck } from "./judge-refusal.js";
import { signRelay } from "./relay-envelope.js";
import { refusalCheck } from "./unary-attempt.js";
import { chunkOffSchema } from "./verify-answer.js";

/** A stream whose first chunk arrived and verified: the rest is pulled by `stream-events.ts`. */
export interface OpenedStream {
  readonly route: Route;
  readonly requestHash: string;
  readonly verifier: RelayStreamVerifier;
  readonly iterator: AsyncIterator<unknown>;
  readonly controller: AbortController;
  readonly first: RelayStreamChunk;
  readonly ttftMs: number;
  /** When the tier's timeout runs out (performance.now() ms). */
  readonly deadline: number;
  readonly check: RefusalCheck;
}

/** A failed tRPC call: a coded (unsigned) refusal, judged, or the node unreachable. */
function callFailure(nodeAddress: string, error: unknown, check: RefusalCheck): AttemptFailure {
  const coded = transportFailure(error);
  return coded === undefined
    ? unreachable(nodeAddress, error)
    : judgeRefusal(nodeAddress, { ...coded, signed: false }, check);
}

/** Pulls one chunk with the time left; a transport failure or timeout fails. */
export function pullChunk(
  iterator: AsyncIterator<unknown>,
  nodeAddress: string,
  deadline: number,
  check: RefusalCheck,
): Effect.Effect<IteratorResult<unknown>, AttemptFailure> {
  return Effect.tryPromise({
    try: () => iterator.next(),
    catch: (e) => callFailure(nodeAddress, e, check),
  }).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(Math.max(0, deadline - performance.now())),
      onTimeout: () =>
        new NodeUnreachable({
          nodeAddress,
          timedOut: true,
          detail: "the stream stalled past the tier's timeout",
        }),
    }),
  );
}

/**
 * Opens a streaming relay on one node and waits for its first chunk, verified: a data chunk (the
 * stream is open), an `ok` final chunk (an empty answer), or a signed refusal. Anything that goes
 * wrong before the first data chunk fails the attempt, so the dispatcher can try another node.
 */
export function openStream(
  ctx: AttemptContext,
  route: Route,
  request: DispatchRequest,
): Effect.Effect<OpenedStream, AttemptFailure> {
  const address = route.node.address;
  const controller = new AbortController();
  const open = Effect.gen(function* () {
    const { envelope, requestHash } = signRelay(ctx.key, route, request, true, ctx.now());
    const timeoutMs = relayTimeoutMs(ctx.settings, route.servedServiceId, route.servedTier);
    const started = performance.now();
    const deadline = started + timeoutMs;
    const client = ctx.clients.get(route.node.endpoint);
    const check = refusalCheck(ctx, route, request);
    const iterable = yield* Effect.tryPromise({
      try: () => client.relayStream.mutate(envelope, { signal: controller.signal }),
      catch: (e) => callFailure(address, e, check),
    });
    const iterator: AsyncIterator<unknown> = (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const next = yield* pullChunk(iterator, address, deadline, check);
    const invalid = (detail: string) => new InvalidNodeResponse({ nodeAddress: address, detail });
    if (next.done === true) return yield* invalid("the stream ended without a chunk");
    const verifier = new RelayStreamVerifier({ publicKey: route.node.publicKey, requestHash });
    const accepted = verifier.accept(next.value);
    if (!accepted.ok)
      return yield* invalid(`${accepted.error.code}: ${accepted.error.detail ?? accepted.error.message}`);
    const first = accepted.value.chunk;
    if (first.final?.outcome === "error") {
      const error = first.final.error!;
      return yield* judgeRefusal(
        address,
        { code: error.code, detail: error.detail ?? error.message, signed: true },
        check,
      );
    }
    if (first.final === undefined) {
      const off = chunkOffSchema(request.operation, first.data);
      if (off !== undefined) return yield* invalid(off);
    }
    const ttftMs = performance.now() - started;
    noteSuccess(ctx, route, "ttft", ttftMs);
    return { route, requestHash, verifier, iterator, controller, first, ttftMs, deadline, check };
  });
  return open.pipe(
    Effect.tapError((failure) => Effect.sync(() => noteFailure(ctx, failure))),
    Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(() => controller.abort()) : Effect.void)),
  );
}
