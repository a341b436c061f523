import { bytesToHex, relayLeafHash } from "@pocket-ai/protocol";
import { Duration, Effect } from "effect";
import type { LatencyKind } from "../routing/node-stats.js";
import type { Route } from "../routing/route-plan.js";
import { relayTimeoutMs } from "../routing/routing-config.js";
import { type AttemptContext, noteFailure, noteSuccess } from "./attempt-context.js";
import { type AttemptFailure, callFailure, NodeUnreachable } from "./attempt-errors.js";
import type { DispatchRequest, RelayRecord } from "./dispatcher.js";
import { answerLimits, signRelay } from "./relay-envelope.js";
import { verifyAnswer } from "./verify-answer.js";

export interface UnaryAnswer {
  readonly payload: Record<string, unknown>;
  readonly record: Omit<RelayRecord, "attempts">;
}

/**
 * One unary relay to one node: sign, send with the tier's timeout (interruption aborts the HTTP
 * request, so a hedge's loser is cancelled at the node too), verify. Fails with the attempt's
 * failure, already counted in the node's stats.
 */
export function unaryAttempt(
  ctx: AttemptContext,
  route: Route,
  request: DispatchRequest,
  kind: LatencyKind,
): Effect.Effect<UnaryAnswer, AttemptFailure> {
  return Effect.suspend(() => {
    const address = route.node.address;
    const { envelope, requestHash } = signRelay(ctx.key, route, request, false, ctx.now());
    const timeoutMs = relayTimeoutMs(ctx.settings, route.servedServiceId, route.servedTier);
    const client = ctx.clients.get(route.node.endpoint);
    const started = performance.now();
    return Effect.tryPromise({
      try: (signal) => client.relay.mutate(envelope, { signal }),
      catch: (e) => callFailure(address, e),
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMs),
        onTimeout: () =>
          new NodeUnreachable({
            nodeAddress: address,
            timedOut: true,
            detail: `no answer in ${timeoutMs} ms`,
          }),
      }),
      Effect.flatMap((raw) => {
        const checked = verifyAnswer(raw, {
          requestHash,
          nodeAddress: address,
          header: route.header,
          operation: request.operation,
          limits: answerLimits(route, request),
        });
        if (!("response" in checked)) return Effect.fail(checked);
        const { response, responseHash } = checked;
        noteSuccess(ctx, route, kind, performance.now() - started);
        return Effect.succeed({
          payload: { ...checked.payload, model: request.target.modelName },
          record: {
            requestHash,
            nodeAddress: address,
            servedServiceId: route.servedServiceId,
            sessionId: route.header.sessionId,
            sessionNumber: route.header.sessionNumber,
            leafHash: bytesToHex(relayLeafHash(requestHash, responseHash)),
            computeUnits: response.computeUnits,
            usage: response.usage,
          },
        });
      }),
      Effect.tapError((failure) => Effect.sync(() => noteFailure(ctx, failure))),
    );
  });
}
