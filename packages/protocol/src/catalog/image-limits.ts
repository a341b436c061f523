import { fail, ok, type Result } from "../errors/index.js";
import { describeTarget, type LimitTarget, tierOfTarget } from "./limit-target.js";
import { type ImageTierSpec, isImageTier } from "./tier-spec.js";

/**
 * The size of an image call: output width and height in pixels, diffusion steps (missing = the
 * node's default, at most the tier's maximum) and image count `n` (default 1).
 *
 * @example
 * ```ts
 * const call: ImageCallSize = { width: 768, height: 512, steps: 30, n: 2 };
 * ```
 */
export interface ImageCallSize {
  readonly width: number;
  readonly height: number;
  readonly steps?: number | undefined;
  readonly n?: number | undefined;
}

/** Stable Diffusion works on an 8× downscaled latent, so image sides are multiples of 8. */
const SIDE_MULTIPLE = 8;

function isPositiveInt(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/**
 * How many "standard images" a request counts as, for pricing and relay weight:
 * `ceil(width × height × n / (standardWidth × standardHeight))`. Four 512×512 images count 4; one
 * 1024×1024 image counts 4; one 768×768 image counts 3 (2.25 rounded up); two 768×768 count 5.
 *
 * @example
 * ```ts
 * const sd = findTier(findService(DEFAULT_CATALOG, "stable-diffusion")!, "standard") as ImageTierSpec;
 * imageUnits(sd, 1024, 1024, 1); // 4 → 4 × 18000 µUSD
 * ```
 */
export function imageUnits(tier: ImageTierSpec, width: number, height: number, n = 1): number {
  const standard = tier.limits.standardWidth * tier.limits.standardHeight;
  return Math.ceil((width * height * n) / standard);
}

/**
 * Checks an image call against its tier before any work is spent and returns how many standard
 * images it counts as. Errors: IMAGE_TOO_LARGE (param `size`, `steps` or `n`) with the limit in the
 * detail; INVALID_REQUEST when a side is not a positive multiple of 8 or a count is not a positive
 * integer; UNSUPPORTED_OPERATION for a text tier.
 *
 * @example
 * ```ts
 * const sd = resolveModelName(DEFAULT_CATALOG, "stable-diffusion");
 * if (sd.ok) checkImageLimits(sd.value, { width: 2048, height: 512 });
 * // fails: "2048x512 is larger than tier stable-diffusion:standard allows (1024x1024)"
 * ```
 */
export function checkImageLimits(target: LimitTarget, call: ImageCallSize): Result<{ units: number }> {
  const tier = tierOfTarget(target);
  const name = describeTarget(target);
  if (!isImageTier(tier))
    return fail("UNSUPPORTED_OPERATION", `${name} is a text tier; it takes no image calls`);
  const { width, height } = call;
  const n = call.n ?? 1;
  const limits = tier.limits;
  if (
    !isPositiveInt(width) ||
    !isPositiveInt(height) ||
    width % SIDE_MULTIPLE !== 0 ||
    height % SIDE_MULTIPLE !== 0
  ) {
    return fail(
      "INVALID_REQUEST",
      `size ${width}x${height}: each side must be a positive multiple of 8`,
      "size",
    );
  }
  if (width > limits.maxWidth || height > limits.maxHeight) {
    return fail(
      "IMAGE_TOO_LARGE",
      `${width}x${height} is larger than ${name} allows (${limits.maxWidth}x${limits.maxHeight})`,
      "size",
    );
  }
  if (!isPositiveInt(n)) return fail("INVALID_REQUEST", "n must be a positive integer", "n");
  if (n > limits.maxImages) {
    return fail("IMAGE_TOO_LARGE", `n is ${n}; ${name} allows ${limits.maxImages} images per call`, "n");
  }
  if (call.steps !== undefined) {
    if (!isPositiveInt(call.steps))
      return fail("INVALID_REQUEST", "steps must be a positive integer", "steps");
    if (call.steps > limits.maxSteps) {
      return fail("IMAGE_TOO_LARGE", `steps is ${call.steps}; ${name} allows ${limits.maxSteps}`, "steps");
    }
  }
  return ok({ units: imageUnits(tier, width, height, n) });
}

/**
 * The most pixels an uploaded image or mask (an image edit's input) may have on a tier: four
 * times the tier's largest output (twice each side). Gateways and nodes check it from the PNG
 * header, before decoding anything.
 *
 * @example
 * ```ts
 * uploadPixelBudget({ maxWidth: 1024, maxHeight: 1024 }); // 4_194_304 (2048×2048)
 * ```
 */
export function uploadPixelBudget(limits: { readonly maxWidth: number; readonly maxHeight: number }): number {
  return 4 * limits.maxWidth * limits.maxHeight;
}
