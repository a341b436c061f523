import { Effect, RateLimiter, type Scope } from "effect";
import type { ProbeTransportShape } from "../probe/probe-transport.js";

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
    (limit): ProbeTransportShape => ({
      completions: (body, target, options) => limit(transport.completions(body, target, options)),
      chat: (body, target, options) => limit(transport.chat(body, target, options)),
      images: (body, target) => limit(transport.images(body, target)),
      imageEdits: (edit, target) => limit(transport.imageEdits(edit, target)),
    }),
  );
}
