import { promptCharsOf, trafficShapeOf } from "@pocket-ai/protocol";
import { spannedFn } from "@pocket-ai/runtime";
import { Deferred, Duration, Effect, Either, Layer, Option } from "effect";
import { NodeRegistry } from "../registry/node-registry.js";
import { GatewayKey } from "../routing/gateway-key-and-catalog.js";
import type { LatencyKind } from "../routing/node-stats.js";
import type { Route } from "../routing/route-plan.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { RoutingMetrics } from "../routing/routing-metrics.js";
import { Selector } from "../routing/selector.js";
import type { AttemptContext } from "./attempt-context.js";
import { type AttemptFailure, clientCodeOf, isCallerError, type NodeRefused } from "./attempt-errors.js";
import { DispatchError, Dispatcher, type DispatchRequest } from "./dispatcher.js";
import { replanTime } from "./judge-refusal.js";
import { NodeClients } from "./node-client.js";
import { openStream } from "./stream-attempt.js";
import { streamEvents } from "./stream-events.js";
import { refusalCheck, type UnaryAnswer, unaryAttempt } from "./unary-attempt.js";

/** How many times one relay is signed again for another session after a node's session refusal. */
const MAX_SESSION_REPLANS = 2;

/**
 * The caller's error after every attempt failed: a believed caller error as is, else a server
 * error for the last node failure (`clientCodeOf`: never a code a node could use to blame the
 * caller, never a 500).
 */
function exhausted(failures: readonly AttemptFailure[], attempts: number, targeted = false): DispatchError {
  const last = failures[failures.length - 1];
  if (last === undefined)
    return new DispatchError({ code: "NO_NODES_AVAILABLE", detail: "no node could be tried", attempts });
  const code = failures.every((f) => f._tag === "NodeUnreachable" && f.timedOut)
    ? "TIMEOUT"
    : clientCodeOf(last, targeted);
  const detail = isCallerError(last) ? last.detail : `${attempts} node(s) tried; last: ${last.detail}`;
  const clientDetail =
    isCallerError(last) && last._tag === "NodeRefused" && last.code === "ENGINE_REJECTED"
      ? last.detail
      : undefined;
  return new DispatchError({ code, detail, attempts, nodeAddress: last.nodeAddress, clientDetail });
}

const make = Effect.gen(function* () {
  const clock = yield* Effect.clock;
  const selector = yield* Selector;
  const settings = yield* RoutingSettings;
  const ctx: AttemptContext = {
    key: yield* GatewayKey,
    settings,
    selector,
    registry: yield* NodeRegistry,
    clients: yield* NodeClients,
    metrics: yield* RoutingMetrics,
    now: () => clock.unsafeCurrentTimeMillis(),
  };

  /**
   * After a node's session refusal: the routes for the session the refusal points to, with the
   * refusing nodes free to be tried again (their refusal was about the session, not them).
   * `undefined` when no new plan is due.
   */
  const replan = Effect.fnUntraced(function* (
    request: DispatchRequest,
    stream: boolean,
    failures: readonly AttemptFailure[],
    seen: number,
    tried: Set<string>,
    routes: readonly Route[],
  ) {
    const session = failures
      .slice(seen)
      .find((f): f is NodeRefused => f._tag === "NodeRefused" && f.blame === "session");
    if (session === undefined) return undefined;
    const route = routes.find((r) => r.node.address === session.nodeAddress);
    if (route === undefined) return undefined;
    const at = replanTime(refusalCheck(ctx, route, request), session);
    for (const f of failures.slice(seen))
      if (f._tag === "NodeRefused" && f.blame === "session") tried.delete(f.nodeAddress);
    return yield* Effect.option(selector.plan(request, stream, at));
  });

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

  /** Customer text relays (never pinned to a node) feed the traffic mix that probes imitate. */
  const count = (request: DispatchRequest, stream: boolean) => {
    if (request.targetNode !== undefined) return;
    if (request.operation !== "completions" && request.operation !== "chat.completions") return;
    const body = { ...request.body, stream };
    selector.trafficMix.record(
      trafficShapeOf(request.operation, body),
      promptCharsOf(request.operation, body),
    );
  };

  const unary = spannedFn(
    "Dispatcher.unary",
    Effect.fnUntraced(function* (request: DispatchRequest) {
      count(request, false);
      let routes = yield* selector.plan(request, false);
      let replans = 0;
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
        const route = next(clock.unsafeCurrentTimeMillis());
        if (route === undefined)
          return yield* exhausted(failures, tried.size, request.targetNode !== undefined);
        const seen = failures.length;
        const primary = attempt(route, request, kind, failures);
        let run: Effect.Effect<Outcome, AttemptFailure | "no-route"> = primary;
        if (hedging && tried.size < maxAttempts && routes.length > tried.size) {
          const primaryFailed = yield* Deferred.make<void>();
          const second = Effect.raceFirst(
            Effect.as(Effect.sleep(Duration.millis(settings.hedge.afterMs)), true),
            Effect.as(Deferred.await(primaryFailed), false),
          ).pipe(
            Effect.flatMap((slow): Effect.Effect<Outcome, AttemptFailure | "no-route"> => {
              const other = next(clock.unsafeCurrentTimeMillis());
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
        if (Option.isNone(outcome)) {
          if (replans < MAX_SESSION_REPLANS) {
            const replanned = yield* replan(request, false, failures, seen, tried, routes);
            if (replanned !== undefined) {
              replans += 1;
              if (Option.isSome(replanned)) routes = replanned.value;
            }
          }
          continue;
        }
        if ("refused" in outcome.value)
          return yield* exhausted([outcome.value.refused], tried.size, request.targetNode !== undefined);
        const answer = {
          payload: outcome.value.answer.payload,
          record: { ...outcome.value.answer.record, attempts: tried.size },
        };
        selector.organic.offer(request, answer.payload, answer.record, clock.unsafeCurrentTimeMillis());
        return answer;
      }
    }),
  );

  const stream = spannedFn(
    "Dispatcher.stream",
    Effect.fnUntraced(function* (request: DispatchRequest) {
      count(request, true);
      let routes = yield* selector.plan(request, true);
      let replans = 0;
      const maxAttempts = request.targetNode === undefined ? settings.retry.maxAttempts : 1;
      const tried = new Set<string>();
      const failures: AttemptFailure[] = [];
      while (tried.size < maxAttempts) {
        const seen = failures.length;
        const route = selector.pick(routes, tried, "ttft", clock.unsafeCurrentTimeMillis());
        if (route === undefined) break;
        tried.add(route.node.address);
        if (tried.size > 1) ctx.metrics.retries.inc();
        const opened = yield* Effect.either(openStream(ctx, route, request));
        if (Either.isRight(opened)) {
          // Organic checks decide once per stream; an unsampled stream's chunks are not looked at.
          const watch = selector.organic.watch(request, ctx.now);
          return streamEvents(ctx, opened.right, request, tried.size, watch);
        }
        failures.push(opened.left);
        if (isCallerError(opened.left)) break;
        if (replans < MAX_SESSION_REPLANS) {
          const replanned = yield* replan(request, true, failures, seen, tried, routes);
          if (replanned !== undefined) {
            replans += 1;
            if (Option.isSome(replanned)) routes = replanned.value;
          }
        }
      }
      return yield* exhausted(failures, tried.size, request.targetNode !== undefined);
    }),
  );

  return Dispatcher.of({
    unary,
    stream,
    availability: () => selector.availability(clock.unsafeCurrentTimeMillis()),
    trafficMix: () => selector.trafficMix.snapshot(),
    organicSamples: (node, max, kinds) =>
      selector.organic.take(node, max, clock.unsafeCurrentTimeMillis(), kinds),
  });
});

/**
 * The routing side of the dispatcher contract: signed relays to the session's nodes, every answer
 * verified, retries on another node before the first byte, hedging of slow unary text relays.
 */
export const DispatcherLive = Layer.effect(Dispatcher, make);
