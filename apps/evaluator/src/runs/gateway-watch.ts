import type { ErrorCode } from "@pocket-ai/protocol";
import { Duration, Effect } from "effect";
import { GatewayUnavailable, type ProbeError, ProbeFailed } from "../errors.js";
import { type ProbeTransportShape, wrapProbeCalls } from "../probe/probe-transport.js";
import { RETRY_AFTER_MAX_MS, RETRY_AFTER_TRIES, unansweredProbeRetry } from "../schedules.js";

/** A probe that got no answer from the gateway itself (see `probeFailureOf`). */
const unanswered = (e: ProbeError): e is ProbeFailed => e._tag === "ProbeFailed" && e.unreachable === true;

/**
 * The gateway's refusals of the evaluator's own key: spent, revoked, or without role `evaluator`.
 * Every later probe would meet the same, and each would be excused (the gateway's own codes say
 * nothing about a node), so a run that went on would publish an entry measured on nothing: its
 * model test untested, its findings and penalties gone.
 */
const KEY_REFUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "BUDGET_EXHAUSTED",
  "INVALID_API_KEY",
  "PERMISSION_DENIED",
]);

/**
 * A refusal that passes (`RATE_LIMITED`, with the gateway's `Retry-After`): the probe is sent again
 * once the delay is over. One still refused after `RETRY_AFTER_TRIES` stops the run like a refused
 * key: recorded as excused, enough of them would leave the model test short of samples (untested)
 * and publish an entry without the node's run-only findings.
 */
const passingRefusal = (e: ProbeError): e is ProbeFailed =>
  e._tag === "ProbeFailed" &&
  e.unreachable !== true &&
  e.retryAfterMs !== undefined &&
  e.retryAfterMs <= RETRY_AFTER_MAX_MS;

/** How a run waits out a gateway's `Retry-After` (tests pass one that moves a test clock instead). */
export type RetryAfterWait = (ms: number) => Effect.Effect<void>;
const sleepFor: RetryAfterWait = (ms) => Effect.sleep(Duration.millis(ms));

/**
 * A node's transport, watched for probes that got no answer from the gateway itself (it is down,
 * `gateway.baseUrl` is wrong, the link broke), and for probes it refused for the evaluator's own
 * key (`KEY_REFUSED`, met once: never sent again). An unanswered probe is sent again
 * (`unansweredProbeRetry`: a connection dropped once is not an outage); one that still gets no
 * answer, like a refused key, says nothing about the node:
 * recording it would score every item 0 and publish the node as failing (a refused key's: excuse
 * every item and publish an entry measured on nothing). `take` returns (and
 * forgets) what the last step met, so the runner stops before recording that step, and the run
 * resumes from it next round.
 */
export function watchGateway(
  transport: ProbeTransportShape,
  wait: RetryAfterWait = sleepFor,
): {
  readonly transport: ProbeTransportShape;
  /** Another transport to the gateway (a reference's), watched the same way into the same `take`. */
  readonly also: (other: ProbeTransportShape) => ProbeTransportShape;
  readonly take: () => GatewayUnavailable | undefined;
} {
  let met: GatewayUnavailable | undefined;
  // A probe still unanswered after its retries: the gateway is asked a question no node is in. If
  // it answers, the link to it works and what broke was this relay (a node that stalls until a
  // proxy in front of the gateway cuts the stream): recorded against the node, the run goes on.
  const settleFor =
    (access: ProbeTransportShape["checkAccess"]) =>
    (e: ProbeFailed): Effect.Effect<never, ProbeError> =>
      access === undefined
        ? Effect.fail(e)
        : access().pipe(
            Effect.matchEffect({
              onFailure: () => Effect.fail(e),
              onSuccess: () =>
                Effect.fail(
                  new ProbeFailed({
                    code: e.code,
                    status: e.status,
                    reason: `${e.reason}; the gateway answers other requests, so the relay itself failed`,
                  }),
                ),
            }),
          );
  const retryAfter = <A>(call: Effect.Effect<A, ProbeError>, tries: number): Effect.Effect<A, ProbeError> =>
    call.pipe(
      Effect.catchIf(
        (e): e is ProbeFailed => tries < RETRY_AFTER_TRIES && passingRefusal(e),
        (e) => Effect.zipRight(wait(e.retryAfterMs ?? 0), retryAfter(call, tries + 1)),
      ),
    );
  const watchWith =
    (settle: (e: ProbeFailed) => Effect.Effect<never, ProbeError>) =>
    <A>(call: Effect.Effect<A, ProbeError>) =>
      retryAfter(
        call.pipe(
          Effect.retry({ schedule: unansweredProbeRetry, while: unanswered }),
          Effect.catchIf(unanswered, settle),
        ),
        0,
      ).pipe(
        Effect.tapError((e) =>
          Effect.sync(() => {
            if (e._tag !== "ProbeFailed") return;
            if (e.unreachable === true) met = new GatewayUnavailable({ code: e.code, reason: e.reason });
            else if (KEY_REFUSED.has(e.code))
              met = new GatewayUnavailable({
                code: e.code,
                reason: `the gateway refused the evaluator's key on a probe (${e.reason})`,
              });
            else if (e.code === "RATE_LIMITED")
              met = new GatewayUnavailable({
                code: e.code,
                reason: `the gateway kept refusing a probe for the evaluator key's rate limits, after the waits its Retry-After asked for (${e.reason})`,
              });
          }),
        ),
      );
  const watched = (t: ProbeTransportShape) => wrapProbeCalls(t, watchWith(settleFor(t.checkAccess)));
  return {
    transport: watched(transport),
    also: watched,
    take: () => {
      const last = met;
      met = undefined;
      return last;
    },
  };
}
