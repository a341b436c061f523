import type { ErrorCode } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { GatewayUnavailable, type ProbeError, ProbeFailed } from "../errors.js";
import { type ProbeTransportShape, wrapProbeCalls } from "../probe/probe-transport.js";
import { unansweredProbeRetry } from "../schedules.js";

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
          if (e._tag !== "ProbeFailed") return;
          if (e.unreachable === true) met = new GatewayUnavailable({ code: e.code, reason: e.reason });
          else if (KEY_REFUSED.has(e.code))
            met = new GatewayUnavailable({
              code: e.code,
              reason: `the gateway refused the evaluator's key on a probe (${e.reason})`,
            });
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
