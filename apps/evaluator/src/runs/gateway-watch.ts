import { Effect } from "effect";
import { GatewayUnavailable, type ProbeError, type ProbeFailed } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
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
  const watch = <A>(call: Effect.Effect<A, ProbeError>) =>
    call.pipe(
      Effect.retry({ schedule: unansweredProbeRetry, while: unanswered }),
      Effect.tapError((e) =>
        Effect.sync(() => {
          if (unanswered(e)) met = new GatewayUnavailable({ code: e.code, reason: e.reason });
        }),
      ),
    );
  return {
    transport: {
      completions: (body, target, options) => watch(transport.completions(body, target, options)),
      chat: (body, target, options) => watch(transport.chat(body, target, options)),
      images: (body, target) => watch(transport.images(body, target)),
      imageEdits: (edit, target) => watch(transport.imageEdits(edit, target)),
      ...(transport.trafficMix === undefined ? {} : { trafficMix: transport.trafficMix }),
      ...(transport.organicSamples === undefined ? {} : { organicSamples: transport.organicSamples }),
    },
    take: () => {
      const last = met;
      met = undefined;
      return last;
    },
  };
}
