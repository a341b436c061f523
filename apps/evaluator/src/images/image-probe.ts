import { Effect } from "effect";
import { errorCodeOf } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import type { Row } from "../runs/entry-row.js";
import { createRng, deriveSeed, sha256Hex } from "../runs/rng.js";
import { type ImageProbeLimits, imageProbeRequest } from "./image-request.js";
import { inspectImage } from "./inspect-image.js";

/** The category of an image probe's row: a first ask, or its repeat with the same prompt and seed. */
export const IMAGE_PROBE = "image";
export const IMAGE_SEED_REPEAT = "image-seed";

export interface ImageProbeContext {
  readonly seed: number;
  readonly node: { readonly address: string; readonly model: string };
  readonly transport: ProbeTransportShape;
  readonly limits: ImageProbeLimits;
}

/**
 * One image probe through the gateway: probe `index`'s request (prompt, seed, size, steps rebuilt
 * from the run's seed, so a repeat — sent later, in the run's random order — asks exactly the same),
 * then the per-image checks. The row keeps the prompt's hash, the pixels' SHA-256, the dHash and the
 * check results; a failed relay is an error (counted in the error rate, not as a failed check).
 */
export function imageProbe(ctx: ImageProbeContext, index: number, repeat: boolean): Effect.Effect<Row> {
  const rng = createRng(deriveSeed(ctx.seed, ctx.node.address, `image/${index}`));
  const request = imageProbeRequest(rng, ctx.node.model, ctx.limits);
  const promptHash = sha256Hex(`${request.prompt.prompt}\u0000${request.prompt.negative ?? ""}`);
  const base = {
    kind: "image" as const,
    category: repeat ? IMAGE_SEED_REPEAT : IMAGE_PROBE,
    ttftMs: null,
    promptHash,
    probes: 1,
    varied: null,
  };
  return ctx.transport.images(request.body, { node: ctx.node.address }).pipe(
    Effect.map((outcome): Row => {
      const seen = inspectImage(outcome.images[0], request);
      const passed = Object.values(seen.checks).filter(Boolean).length;
      return {
        ...base,
        status: "scored",
        score: passed / Object.keys(seen.checks).length,
        stat: seen.maxChannelStdDev,
        responseHash: seen.pixelHash,
        perceptualHash: seen.perceptualHash,
        checks: { ...seen.checks },
        errorCode: null,
      };
    }),
    Effect.catchAll((error) =>
      Effect.succeed<Row>({
        ...base,
        status: "error",
        score: null,
        stat: null,
        responseHash: null,
        perceptualHash: null,
        checks: null,
        errorCode: errorCodeOf(error),
      }),
    ),
  );
}
