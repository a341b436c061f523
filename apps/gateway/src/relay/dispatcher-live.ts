import { promptCharsOf, trafficShapeOf } from "@pocket-ai/protocol";
import { spannedFn } from "@pocket-ai/runtime";
import { Effect, Either, Exit, Layer, Option, Runtime } from "effect";
import { NodeRegistry } from "../registry/node-registry.js";
import { GatewayKey } from "../routing/gateway-key-and-catalog.js";
import type { LatencyKind } from "../routing/node-stats.js";
import type { Route } from "../routing/route-plan.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { RoutingMetrics } from "../routing/routing-metrics.js";
import { Selector } from "../routing/selector.js";
import { type AttemptContext, isUnprovenRefusal, noteDisprovedRefusal } from "./attempt-context.js";
import {
  type AttemptFailure,
  clientCodeOf,
  isCallerError,
  isErrorCode,
  type NodeRefused,
} from "./attempt-errors.js";
import { pendingCutReceipt } from "./cut-receipt.js";
import { CutReceiptOutbox } from "./cut-receipt-outbox.js";
import {
  DispatchError,
  type DispatchEvents,
  type DispatchedUnary,
  Dispatcher,
  type DispatchRequest,
} from "./dispatcher.js";
import { HedgeTimer } from "./hedge-timer.js";
import { replanTime } from "./judge-refusal.js";
import { NodeClients } from "./node-client.js";
import { RefusedAnswerLog } from "./refused-answers.js";
import { openStream } from "./stream-attempt.js";
import { streamEvents } from "./stream-events.js";
import { refusalCheck, startUnaryAttempt, type UnaryAnswer } from "./unary-attempt.js";

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
  // What the judge let the client read of a believed refusal (see `NodeRefused.clientDetail`).
  const believed = last._tag === "NodeRefused" && isCallerError(last) ? last : undefined;
  const lastFailure =
    last._tag === "NodeRefused"
      ? `refused ${isErrorCode(last.code) ? last.code : "with an unknown code"}`
      : last._tag === "NodeUnreachable"
        ? last.timedOut
          ? "timed out"
          : "unreachable"
        : `invalid answer (${last.reason})`;
  return new DispatchError({
    code,
    detail,
    attempts,
    nodeAddress: last.nodeAddress,
    clientDetail: believed?.clientDetail,
    param: believed?.param,
    lastFailure,
  });
}

const make = Effect.gen(function* () {
  const clock = yield* Effect.clock;
  const selector = yield* Selector;
  const settings = yield* RoutingSettings;
  const outbox = yield* CutReceiptOutbox;
  const metrics = yield* RoutingMetrics;
  const runtime = yield* Effect.runtime<never>();
  const ctx: AttemptContext = {
    key: yield* GatewayKey,
    settings,
    selector,
    registry: yield* NodeRegistry,
    clients: yield* NodeClients,
    metrics,
    refusedAnswers: new RefusedAnswerLog({
      // Through the app's logger (the runtime the layer was built in): one JSON line, redacted.
      warn: (message, fields) =>
        Runtime.runSync(runtime)(Effect.logWarning(message).pipe(Effect.annotateLogs(fields))),
      counter: metrics.refusedAnswers,
      everyMs: settings.refusedAnswersLogMs,
      now: () => clock.unsafeCurrentTimeMillis(),
    }),
    now: () => clock.unsafeCurrentTimeMillis(),
    deliverCutReceipts: outbox.deliverNow,
    abandonedAttempt: (route, requestHash) =>
      outbox.write(
        pendingCutReceipt(ctx, route.header.sessionEnd, {
          nodeAddress: route.node.address,
          sessionId: route.header.sessionId,
          requestHash,
          // No head: the receipt pays nothing.
          chain: requestHash,
          outputTokens: 0,
          computeUnits: 0,
          issuedAt: ctx.now(),
        }),
      ),
  };
  const hedgeTimer = yield* HedgeTimer;

  /**
   * After a node's session refusal: when to plan the routes again (the session the refusal points
   * to), the refusing nodes made free to be tried again (their refusal was about the session, not
   * them). `undefined` when no new plan is due.
   */
  const replanAt = (
    request: DispatchRequest,
    failures: readonly AttemptFailure[],
    seen: number,
    tried: Set<string>,
    routes: readonly Route[],
  ): number | undefined => {
    const session = failures
      .slice(seen)
      .find((f): f is NodeRefused => f._tag === "NodeRefused" && f.blame === "session");
    if (session === undefined) return undefined;
    const route = routes.find((r) => r.node.address === session.nodeAddress);
    if (route === undefined) return undefined;
    const at = replanTime(refusalCheck(ctx, route, request), session);
    for (const f of failures.slice(seen))
      if (f._tag === "NodeRefused" && f.blame === "session") tried.delete(f.nodeAddress);
    return at;
  };

  /** {@link replanAt}'s new plan: `undefined` when none is due, none when it found no route. */
  const replan = (
    request: DispatchRequest,
    stream: boolean,
    failures: readonly AttemptFailure[],
    seen: number,
    tried: Set<string>,
    routes: readonly Route[],
  ) => {
    const at = replanAt(request, failures, seen, tried, routes);
    return at === undefined ? Effect.succeed(undefined) : Effect.option(selector.plan(request, stream, at));
  };

  /**
   * How a round of attempts ended: an answer (`overruled`: an engine refusal of the round's other
   * attempt that this answer disproves), or a refusal that no other node would change
   * (`confirmed`: an engine refusal the round's other attempt made too).
   */
  type Outcome =
    | { readonly answer: UnaryAnswer; readonly route: Route; readonly overruled?: NodeRefused }
    | { readonly refused: AttemptFailure; readonly confirmed?: boolean };

  /**
   * One round of a unary relay: `first` is tried; with `hedgeAfterMs`, a second node (`next()`) is
   * started when the first has not answered by then, or at once if the first fails before. The first
   * answer or believed caller error ends the round and cancels the other attempt (its HTTP request
   * aborted) — except an engine refusal while the other attempt still runs: that attempt is its
   * second opinion, and the round waits for it. `then` gets the outcome, `undefined` when every
   * attempt it started failed (each failure in `failures`) or no second node was left; `die` a
   * defect. Returns what cancels the round. Plain callbacks and one timer: no fiber per side.
   */
  const round = (
    first: Route,
    request: DispatchRequest,
    kind: LatencyKind,
    failures: AttemptFailure[],
    next: () => Route | undefined,
    hedgeAfterMs: number | undefined,
    then: (outcome: Outcome | undefined) => void,
    die: (defect: unknown) => void,
  ): (() => void) => {
    let ended = false;
    let running = 0;
    let hedged = hedgeAfterMs === undefined;
    /** An engine refusal held while the round's other attempt, still running, gives its opinion. */
    let held: NodeRefused | undefined;
    const cancels: (() => void)[] = [];
    let stopTimer: (() => void) | undefined;
    /** Ends the round once: the timer stopped, every attempt still running cancelled. */
    const stop = () => {
      if (ended) return false;
      ended = true;
      stopTimer?.();
      for (const cancel of cancels) cancel();
      return true;
    };
    /** Ends the round with its outcome, which `then` acts on (a throw there, a bug, is a defect). */
    const end = (outcome: Outcome | undefined) => {
      if (!stop()) return;
      try {
        then(outcome);
      } catch (defect) {
        die(defect);
      }
    };
    const fail = (defect: unknown) => {
      if (stop()) die(defect);
    };
    const hedge = (slow: boolean) => {
      if (hedged || ended) return;
      hedged = true;
      stopTimer?.();
      const other = next();
      if (other === undefined) {
        if (running === 0) end(undefined);
        return;
      }
      if (slow) ctx.metrics.hedges.inc();
      launch(other);
    };
    // Callbacks run from timers and promise reactions: a throw there (a bug) ends the round as a
    // defect instead of escaping to the event loop.
    const guarded = (f: () => void) => {
      try {
        f();
      } catch (defect) {
        fail(defect);
      }
    };
    const launch = (route: Route) => {
      running += 1;
      cancels.push(
        startUnaryAttempt(ctx, route, request, kind, (result) =>
          guarded(() => {
            running -= 1;
            if ("defect" in result) return fail(result.defect);
            if (result.ok)
              return end(
                held === undefined
                  ? { answer: result.answer, route }
                  : { answer: result.answer, route, overruled: held },
              );
            failures.push(result.failure);
            if (isCallerError(result.failure)) {
              if (held === undefined && running > 0 && isUnprovenRefusal(result.failure)) {
                held = result.failure;
                return;
              }
              return end({ refused: result.failure, confirmed: held !== undefined });
            }
            if (!hedged) return hedge(false);
            // The other attempt failed for a reason of its own: the held refusal waits for another node.
            if (running === 0) end(held === undefined ? undefined : { refused: held });
          }),
        ),
      );
    };
    if (hedgeAfterMs !== undefined) stopTimer = hedgeTimer(hedgeAfterMs, () => guarded(() => hedge(true)));
    launch(first);
    return stop;
  };

  /** Customer text relays (never pinned to a node) feed the traffic mix that probes imitate. */
  const count = (request: DispatchRequest, stream: boolean) => {
    if (request.targetNode !== undefined) return;
    if (request.operation !== "completions" && request.operation !== "chat.completions") return;
    // The shape reads `stream` from the body; the body is copied only when it says otherwise.
    const body = (request.body.stream === true) === stream ? request.body : { ...request.body, stream };
    selector.trafficMix.record(
      trafficShapeOf(request.operation, body),
      promptCharsOf(request.operation, request.body),
      request.application.id,
    );
  };

  /**
   * A unary relay as plain callbacks: rounds (see `round`) on the planned routes until one
   * answers, a refusal stands or no node is left, then `done` with how it ended. Returns what
   * cancels it (the attempts still running aborted). No fiber step between rounds.
   */
  const startUnary = (
    request: DispatchRequest,
    done: (exit: Exit.Exit<DispatchedUnary, DispatchError>) => void,
  ): (() => void) => {
    count(request, false);
    const planned = selector.routes(request, false);
    if (planned instanceof DispatchError) {
      done(Exit.fail(planned));
      return () => {};
    }
    let routes = planned;
    let replans = 0;
    const kind: LatencyKind = request.target.kind === "image" ? "image" : "text";
    const maxAttempts = request.targetNode === undefined ? settings.retry.maxAttempts : 1;
    const hedging = settings.hedge.enabled && kind === "text" && request.targetNode === undefined;
    const tried = new Set<string>();
    const failures: AttemptFailure[] = [];
    /** A believed engine refusal, held while another node of the session is asked the same. */
    let engineRefusal: NodeRefused | undefined;
    let cancel: () => void = () => {};
    let cancelled = false;
    const next = (now: number) => {
      const route = tried.size < maxAttempts ? selector.pick(routes, tried, kind, now) : undefined;
      if (route !== undefined) tried.add(route.node.address);
      if (route !== undefined && tried.size > 1) ctx.metrics.retries.inc();
      return route;
    };
    const die = (defect: unknown) => done(Exit.die(defect));
    const attempt = () => {
      if (cancelled) return;
      const route = next(clock.unsafeCurrentTimeMillis());
      if (route === undefined) {
        done(
          Exit.fail(
            exhausted(
              engineRefusal === undefined ? failures : [engineRefusal],
              tried.size,
              request.targetNode !== undefined,
            ),
          ),
        );
        return;
      }
      const seen = failures.length;
      // A second node is worth starting only while another is left to try.
      const hedge = hedging && tried.size < maxAttempts && routes.length > tried.size;
      cancel = round(
        route,
        request,
        kind,
        failures,
        () => next(clock.unsafeCurrentTimeMillis()),
        hedge ? settings.hedge.afterMs : undefined,
        (outcome) => {
          if (outcome === undefined) {
            if (replans < MAX_SESSION_REPLANS) {
              const at = replanAt(request, failures, seen, tried, routes);
              if (at !== undefined) {
                replans += 1;
                const replanned = selector.routes(request, false, at);
                if (!(replanned instanceof DispatchError)) routes = replanned;
              }
            }
            return attempt();
          }
          if ("refused" in outcome) {
            // A second opinion: the first engine refusal goes to the client only if no other node
            // of the session answers the request either.
            if (
              engineRefusal === undefined &&
              outcome.confirmed !== true &&
              isUnprovenRefusal(outcome.refused)
            ) {
              engineRefusal = outcome.refused;
              return attempt();
            }
            return done(
              Exit.fail(exhausted([outcome.refused], tried.size, request.targetNode !== undefined)),
            );
          }
          // Every engine refusal this answer disproves: an earlier round's, and this round's own.
          if (engineRefusal !== undefined) noteDisprovedRefusal(ctx, engineRefusal, outcome.route);
          if (outcome.overruled !== undefined) noteDisprovedRefusal(ctx, outcome.overruled, outcome.route);
          const answer = {
            payload: outcome.answer.payload,
            record: { ...outcome.answer.record, attempts: tried.size },
          };
          selector.organic.offer(request, answer.payload, answer.record, clock.unsafeCurrentTimeMillis());
          done(Exit.succeed(answer));
        },
        die,
      );
    };
    try {
      attempt();
    } catch (defect) {
      die(defect);
    }
    return () => {
      cancelled = true;
      cancel();
    };
  };

  const unary = spannedFn("Dispatcher.unary", (request: DispatchRequest) =>
    Effect.async<DispatchedUnary, DispatchError>((resume) => Effect.sync(startUnary(request, resume))),
  );

  const stream = spannedFn(
    "Dispatcher.stream",
    Effect.fnUntraced(function* (request: DispatchRequest, onOpened?: (events: DispatchEvents) => void) {
      count(request, true);
      let routes = yield* selector.plan(request, true);
      let replans = 0;
      const maxAttempts = request.targetNode === undefined ? settings.retry.maxAttempts : 1;
      const tried = new Set<string>();
      const failures: AttemptFailure[] = [];
      let engineRefusal: NodeRefused | undefined;
      while (tried.size < maxAttempts) {
        const seen = failures.length;
        const route = selector.pick(routes, tried, "ttft", clock.unsafeCurrentTimeMillis());
        if (route === undefined) break;
        tried.add(route.node.address);
        if (tried.size > 1) ctx.metrics.retries.inc();
        const opened = yield* Effect.either(openStream(ctx, route, request));
        if (Either.isRight(opened)) {
          if (engineRefusal !== undefined) noteDisprovedRefusal(ctx, engineRefusal, route);
          // Organic checks decide once per stream; an unsampled stream's chunks are not looked at.
          const watch = selector.organic.watch(request, ctx.now);
          const events = streamEvents(ctx, opened.right, request, tried.size, watch);
          onOpened?.(events);
          return events;
        }
        failures.push(opened.left);
        if (engineRefusal === undefined && isUnprovenRefusal(opened.left)) {
          engineRefusal = opened.left;
          continue;
        }
        if (isCallerError(opened.left)) break;
        if (replans < MAX_SESSION_REPLANS) {
          const replanned = yield* replan(request, true, failures, seen, tried, routes);
          if (replanned !== undefined) {
            replans += 1;
            if (Option.isSome(replanned)) routes = replanned.value;
          }
        }
      }
      // The engine refusal stands when no other node answered (nor refused for a reason of its own).
      const last = failures[failures.length - 1];
      const standing = engineRefusal !== undefined && last !== undefined && !isCallerError(last);
      return yield* exhausted(
        standing ? [engineRefusal as NodeRefused] : failures,
        tried.size,
        request.targetNode !== undefined,
      );
    }),
  );

  return Dispatcher.of({
    unary,
    startUnary,
    stream,
    availability: () => selector.availability(clock.unsafeCurrentTimeMillis()),
    trafficMix: () => selector.trafficMix.snapshot(),
    organicSamples: (node, max, kinds, serviceId) =>
      selector.organic.take(node, max, clock.unsafeCurrentTimeMillis(), kinds, serviceId),
  });
});

/**
 * The routing side of the dispatcher contract: signed relays to the session's nodes, every answer
 * verified, retries on another node before the first byte, hedging of slow unary text relays.
 */
export const DispatcherLive = Layer.scoped(Dispatcher, make);
