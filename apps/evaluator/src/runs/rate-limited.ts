import { Duration, Effect, RateLimiter, type Scope } from "effect";
import { type ProbeTransportShape, wrapProbeCalls } from "../probe/probe-transport.js";
import { probeGapMs } from "./probe-shape.js";
import type { Rng } from "./rng.js";

/**
 * The transport for one node behind a token bucket: every relay to the node (each choice of a
 * multiple-choice item is one) waits for a token, so a run never floods one node whatever the
 * suite's shape. Other nodes have their own buckets and run in parallel.
 */
export function rateLimited(
  transport: ProbeTransportShape,
  perSecond: number,
): Effect.Effect<ProbeTransportShape, never, Scope.Scope> {
  return Effect.map(
    RateLimiter.make({
      limit: Math.max(1, Math.round(perSecond)),
      interval: "1 seconds",
      algorithm: "token-bucket",
    }),
    (limit) => wrapProbeCalls(transport, limit),
  );
}

/**
 * Covert runs: each relay waits an exponential gap first (`probeGapMs`), so probes reach the node
 * as a Poisson stream at about `perSecond`, as independent customers' requests do.
 */
export function poissonPaced(
  transport: ProbeTransportShape,
  perSecond: number,
  rng: Rng,
): ProbeTransportShape {
  return wrapProbeCalls(transport, (call) =>
    Effect.zipRight(Effect.sleep(Duration.millis(probeGapMs(rng, perSecond))), call),
  );
}
