import { z } from "zod";
import type { ImageTierSpec } from "../catalog/index.js";
import { fail, ok, type Result } from "../errors/index.js";

/**
 * An image size as OpenAI spells it: `"<width>x<height>"` in pixels, e.g. `"512x512"`.
 *
 * @example
 * ```ts
 * ImageSize.parse("768x512");
 * ```
 */
export const ImageSize = z
  .string()
  .regex(/^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$/, 'size must look like "512x512"');

/**
 * Reads `"WxH"` into numbers. INVALID_REQUEST (param `size`) when it is not two positive integers
 * joined by `x`.
 *
 * @example
 * ```ts
 * parseImageSize("1024x768"); // { ok: true, value: { width: 1024, height: 768 } }
 * ```
 */
export function parseImageSize(size: string): Result<{ width: number; height: number }> {
  const match = /^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$/.exec(size);
  if (match === null) return fail("INVALID_REQUEST", `size '${size}' must look like "512x512"`, "size");
  return ok({ width: Number(match[1]), height: Number(match[2]) });
}

/**
 * Outpainting padding in pixels of the output canvas. The source image is scaled into the canvas
 * minus the padding; the padded border is generated.
 *
 * @example
 * ```ts
 * OutpaintPadding.parse({ top: 0, right: 128, bottom: 0, left: 128 });
 * ```
 */
export const OutpaintPadding = z.strictObject({
  top: z.number().int().nonnegative(),
  right: z.number().int().nonnegative(),
  bottom: z.number().int().nonnegative(),
  left: z.number().int().nonnegative(),
});

/** A parsed {@link OutpaintPadding}. */
export type OutpaintPadding = z.infer<typeof OutpaintPadding>;

/**
 * The output size of an image request: its `size`, or the tier's standard size when missing. With
 * outpainting padding, the padding must leave room for the source image (left + right < width,
 * top + bottom < height); otherwise INVALID_REQUEST with param `padding`.
 *
 * @example
 * ```ts
 * const sd = findTier(findService(DEFAULT_CATALOG, "stable-diffusion")!, "standard") as ImageTierSpec;
 * imageRequestSize({ size: null }, sd); // { ok: true, value: { width: 512, height: 512 } }
 * ```
 */
export function imageRequestSize(
  request: {
    readonly size?: string | null | undefined;
    readonly padding?: OutpaintPadding | null | undefined;
  },
  tier: ImageTierSpec,
): Result<{ width: number; height: number }> {
  const size =
    request.size === undefined || request.size === null
      ? ok({ width: tier.limits.standardWidth, height: tier.limits.standardHeight })
      : parseImageSize(request.size);
  if (!size.ok || request.padding === undefined || request.padding === null) return size;
  const { top, right, bottom, left } = request.padding;
  const { width, height } = size.value;
  if (left + right >= width || top + bottom >= height) {
    return fail(
      "INVALID_REQUEST",
      `padding ${top}/${right}/${bottom}/${left} leaves no room in ${width}x${height}`,
      "padding",
    );
  }
  return size;
}
