import { Effect } from "effect";
import { BackendRejected } from "../backends/backend.js";

/**
 * An image call's answer holds exactly the `n` images asked for: the gateway pays for, and refuses
 * anything but, that many, so an engine that made fewer is a backend fault the node reports
 * rather than an answer it signs.
 */
export function checkImageCount(
  payload: Record<string, unknown>,
  images: number,
  backend: string,
): Effect.Effect<Record<string, unknown>, BackendRejected> {
  const made = Array.isArray(payload.data) ? payload.data.length : 0;
  return made === images
    ? Effect.succeed(payload)
    : Effect.fail(
        new BackendRejected({
          backend,
          status: 502,
          reason: `the engine returned ${made} images for ${images} asked`,
        }),
      );
}
