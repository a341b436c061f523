import { Clock, Deferred, Duration, Effect, Either, Layer, Option } from "effect";
import { NodeRegistry } from "../registry/node-registry.js";
import { GatewayKey } from "../routing/gateway-key-and-catalog.js";
import type { LatencyKind } from "../routing/node-stats.js";
import type { Route } from "../routing/route-plan.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { RoutingMetrics } from "../routing/routing-metrics.js";
import { Selector } from "../routing/selector.js";
import type { AttemptContext } from "./attempt-context.js";
import { type AttemptFailure, isCallerError } from "./attempt-errors.js";
import { DispatchError, Dispatcher, type DispatchRequest } from "./dispatcher.js";
import { NodeClients } from "./node-client.js";
import { openStream } from "./stream-attempt.js";
import { streamEvents } from "./stream-events.js";
import { type UnaryAnswer, unaryAttempt } from "./unary-attempt.js";

/** The caller's error after every attempt failed: a caller error as is, else the last node failure's code. */
function exhausted(failures: readonly AttemptFailure[], attempts: number): DispatchError {
  const last = failures[failures.length - 1];
  if (last === undefined)
    return new DispatchError({ code: "NO_NODES_AVAILABLE", detail: "no node could be tried", attempts });
  const code = failures.every((f) => f._tag === "NodeUnreachable" && f.timedOut) ? "TIMEOUT" : last.code;
  const detail = isCallerError(last) ? last.detail : `${attempts} node(s) tried; last: ${last.detail}`;
  return new DispatchError({ code, detail, attempts, nodeAddress: last.nodeAddress });
}

const make = Effect.gen(function* () {
  const selector = yield* Selector;
  const settings = yield* RoutingSettings;
  const ctx: AttemptContext = {
    key: yield* GatewayKey,
    settings,
    selector,
    registry: yield* NodeRegistry,
    clients: yield* NodeClients,
    metrics: yield* RoutingMetrics,
    now: () => Date.now(),
  };

  /** Terminal outcomes in the success channel, so a race ends on either; retryable failures fail. */
  type Outcome = { readonly answer: UnaryAnswer } | { readonly refused: AttemptFailure };
  const attempt = (route: Route, request: DispatchRequest, kind: LatencyKind, failures: AttemptFailure[]) =>
    unaryAttempt(ctx, route, request, kind).pipe(
      Effect.map((answer): Outcome => ({ answer })),
      Effect.catchAll((failure) => {
        failures.push(failure);
        return isCallerError(failure) ? Effect.succeed<Outcome>({ refused: failure }) : Effect.fail(failure);
      }),
    );

  const unary = Effect.fn("Dispatcher.unary")(function* (request: DispatchRequest) {
    const routes = yield* selector.plan(request, false);
    const kind: LatencyKind = request.target.kind === "image" ? "image" : "text";
    const maxAttempts = request.targetNode === undefined ? settings.retry.maxAttempts : 1;
    const hedging = settings.hedge.enabled && kind === "text" && request.targetNode === undefined;
    const tried = new Set<string>();
    const failures: AttemptFailure[] = [];
    const next = (now: number) => {
      const route = tried.size < maxAttempts ? selector.pick(routes, tried, kind, now) : undefined;
      if (route !== undefined) tried.add(route.node.address);
      if (route !== undefined && tried.size > 1) ctx.metrics.retries.inc();
      return route;
    };
    while (true) {
      const route = next(yield* Clock.currentTimeMillis);
      if (route === undefined) return yield* exhausted(failures, tried.size);
      const primary = attempt(route, request, kind, failures);
      let run: Effect.Effect<Outcome, AttemptFailure | "no-route"> = primary;
      if (hedging && tried.size < maxAttempts && routes.length > tried.size) {
        const primaryFailed = yield* Deferred.make<void>();
        const second = Effect.raceFirst(
          Effect.as(Effect.sleep(Duration.millis(settings.hedge.afterMs)), true),
          Effect.as(Deferred.await(primaryFailed), false),
        ).pipe(
          Effect.flatMap((slow): Effect.Effect<Outcome, AttemptFailure | "no-route"> => {
            const other = next(Date.now());
            if (other === undefined) return Effect.fail("no-route" as const);
            if (slow) ctx.metrics.hedges.inc();
            return attempt(other, request, kind, failures);
          }),
        );
        run = Effect.race(
          Effect.tapError(primary, () => Deferred.succeed(primaryFailed, undefined)),
          second,
        );
      }
      const outcome = yield* Effect.option(run);
      if (Option.isNone(outcome)) continue;
      if ("refused" in outcome.value) return yield* exhausted([outcome.value.refused], tried.size);
      return {
        payload: outcome.value.answer.payload,
        record: { ...outcome.value.answer.record, attempts: tried.size },
      };
    }
  });

  const stream = Effect.fn("Dispatcher.stream")(function* (request: DispatchRequest) {
    const routes = yield* selector.plan(request, true);
    const maxAttempts = request.targetNode === undefined ? settings.retry.maxAttempts : 1;
    const tried = new Set<string>();
    const failures: AttemptFailure[] = [];
    while (tried.size < maxAttempts) {
      const route = selector.pick(routes, tried, "ttft", yield* Clock.currentTimeMillis);
      if (route === undefined) break;
      tried.add(route.node.address);
      if (tried.size > 1) ctx.metrics.retries.inc();
      const opened = yield* Effect.either(openStream(ctx, route, request));
      if (Either.isRight(opened)) return streamEvents(ctx, opened.right, request, tried.size);
      failures.push(opened.left);
      if (isCallerError(opened.left)) break;
    }
    return yield* exhausted(failures, tried.size);
  });

  return Dispatcher.of({
    unary,
    stream,
    availability: () => selector.availability(Date.now()),
  });
});

/**
 * The routing side of the dispatcher contract: signed relays to the session's nodes, every answer
 * verified, retries on another node before the first byte, hedging of slow unary text relays.
 */
export const DispatcherLive = Layer.effect(Dispatcher, make);
