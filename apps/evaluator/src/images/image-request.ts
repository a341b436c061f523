import { DEFAULT_CATALOG, defaultTierOf, findService, findTier, isImageTier } from "@pocket-ai/protocol";
import type { EvaluatedNode, RunSettings } from "../config/evaluator-config.js";
import type { Rng } from "../runs/rng.js";
import { type ImagePrompt, randomImagePrompt } from "./image-prompts.js";

/** The bounds an image probe stays within: the tier's limits, narrowed by the run's side range. */
export interface ImageProbeLimits {
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly maxSteps: number;
  readonly minSide: number;
  readonly maxSide: number;
}

/**
 * The node's image tier from the catalog (its own service when that is an image service, else
 * `stable-diffusion`; the configured tier, else the service's default), narrowed to the run's
 * `imageMinSide`…`imageMaxSide` so probes cost what ordinary requests cost.
 */
export function imageProbeLimits(
  node: EvaluatedNode,
  settings: RunSettings,
  catalog = DEFAULT_CATALOG,
): ImageProbeLimits {
  const own = findService(catalog, node.serviceId);
  const service = own?.kind === "image" ? own : findService(catalog, "stable-diffusion");
  const tier =
    service === undefined ? undefined : (findTier(service, node.tier ?? "") ?? defaultTierOf(service));
  const limits =
    tier !== undefined && isImageTier(tier)
      ? tier.limits
      : {
          maxWidth: 1024,
          maxHeight: 1024,
          maxSteps: 50,
          maxImages: 1,
          standardWidth: 512,
          standardHeight: 512,
        };
  return {
    maxWidth: limits.maxWidth,
    maxHeight: limits.maxHeight,
    maxSteps: limits.maxSteps,
    minSide: settings.imageMinSide,
    maxSide: Math.max(settings.imageMinSide, settings.imageMaxSide),
  };
}

/** Width : height shapes people ask for, both ways round. */
const ASPECTS: readonly (readonly [number, number])[] = [
  [1, 1],
  [1, 1],
  [4, 3],
  [3, 4],
  [3, 2],
  [2, 3],
  [16, 9],
  [9, 16],
  [5, 4],
];

const down8 = (v: number) => Math.max(8, Math.floor(v / 8) * 8);

/** A size within the limits: the longer side a multiple of 64, the other from an aspect, both multiples of 8. */
export function randomImageSize(rng: Rng, limits: ImageProbeLimits): { width: number; height: number } {
  const highest = Math.max(1, Math.floor(limits.maxSide / 64));
  const lowest = Math.min(highest, Math.max(1, Math.ceil(limits.minSide / 64)));
  const long = 64 * (lowest + rng.int(highest - lowest + 1));
  const [a, b] = rng.pick(ASPECTS);
  const width = a >= b ? long : down8((long * a) / b);
  const height = a >= b ? down8((long * b) / a) : long;
  return {
    width: Math.min(width, down8(limits.maxWidth)),
    height: Math.min(height, down8(limits.maxHeight)),
  };
}

export interface ImageProbeRequest {
  readonly prompt: ImagePrompt;
  readonly width: number;
  readonly height: number;
  /** The `/v1/images/generations` body (the transport adds `response_format: b64_json`). */
  readonly body: Record<string, unknown>;
}

/** One probe's request: random prompt, seed, size, steps and guidance, like an ordinary client's. */
export function imageProbeRequest(rng: Rng, model: string, limits: ImageProbeLimits): ImageProbeRequest {
  const prompt = randomImagePrompt(rng);
  const { width, height } = randomImageSize(rng, limits);
  const steps = Math.min(limits.maxSteps, 18 + rng.int(13));
  const body: Record<string, unknown> = {
    model,
    prompt: prompt.prompt,
    size: `${width}x${height}`,
    n: 1,
    seed: rng.int(2 ** 31),
    ...(rng.next() < 0.75 ? { steps } : {}),
    ...(rng.next() < 0.5 ? { cfg_scale: 5 + rng.int(9) / 2 } : {}),
    ...(prompt.negative === undefined ? {} : { negative_prompt: prompt.negative }),
  };
  return { prompt, width, height, body };
}
