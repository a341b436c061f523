import { Effect } from "effect";
import { GatewayUnavailable, type ProbeError, ProbeFailed } from "../errors.js";
import { type ProbeTransportShape, wrapProbeCalls } from "../probe/probe-transport.js";
import { unansweredProbeRetry } from "../schedules.js";

/** A probe that got no answer from the gateway itself (see `probeFailureOf`). */
const unanswered = (e: ProbeError): e is ProbeFailed => e._tag === "ProbeFailed" && e.unreachable === true;

/**
 * A node's transport, watched for probes that got no answer from the gateway itself (it is down,
 * `gateway.baseUrl` is wrong, the link broke). Such a probe is sent again
 * (`unansweredProbeRetry`: a connection dropped once is not an outage); one that still gets no
 * answer says nothing about the node:
 * recording it would score every item 0 and publish the node as failing. `take` returns (and
 * forgets) what the last step met, so the runner stops before recording that step, and the run
 * resumes from it next round.
 */
export function watchGateway(transport: ProbeTransportShape): {
  readonly transport: ProbeTransportShape;
  readonly take: () => GatewayUnavailable | undefined;
} {
  let met: GatewayUnavailable | undefined;
  // A probe still unanswered after its retries: the gateway is asked a question no node is in. If
  // it answers, the link to it works and what broke was this relay (a node that stalls until a
  // proxy in front of the gateway cuts the stream): recorded against the node, the run goes on.
  const access = transport.checkAccess;
  const settle = (e: ProbeFailed): Effect.Effect<never, ProbeError> =>
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
  const watch = <A>(call: Effect.Effect<A, ProbeError>) =>
    call.pipe(
      Effect.retry({ schedule: unansweredProbeRetry, while: unanswered }),
      Effect.catchIf(unanswered, settle),
      Effect.tapError((e) =>
        Effect.sync(() => {
          if (unanswered(e)) met = new GatewayUnavailable({ code: e.code, reason: e.reason });
        }),
      ),
    );
  return {
    transport: wrapProbeCalls(transport, watch),
    take: () => {
      const last = met;
      met = undefined;
      return last;
    },
  };
}
