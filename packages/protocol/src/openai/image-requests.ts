import { z } from "zod";
import { ImageSize, OutpaintPadding } from "./image-size.js";

/**
 * Multipart form fields arrive as strings; numbers and JSON objects are read back before checking.
 */
function formValue<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => {
    if (typeof value !== "string") return value;
    const text = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text.startsWith("{")) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return value;
      }
    }
    return value;
  }, schema);
}

const PNG_BASE64_PREFIX = "iVBORw0KGgo";

/**
 * A PNG file as base64 (no `data:` prefix), as the gateway passes on an uploaded image or mask;
 * at most about 6 MB of PNG.
 *
 * @example
 * ```ts
 * Base64Png.safeParse("iVBORw0KGgoAAAANSUhEUg==").success; // true: base64 that opens with the PNG signature
 * Base64Png.safeParse("data:image/png;base64,iVBORw0KGgo=").success; // false: no `data:` prefix
 * ```
 */
export const Base64Png = z
  .string()
  .max(8_000_000, "must be at most 8,000,000 base64 characters (about 6 MB)")
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
  .refine((value) => value.startsWith(PNG_BASE64_PREFIX), "must be a base64 PNG");

const imageFields = {
  model: z.string().min(1).nullish(),
  prompt: z.string().min(1).max(4000),
  n: formValue(z.number().int().min(1).max(10).nullish()),
  size: ImageSize.nullish(),
  response_format: z.enum(["b64_json", "url"]).nullish(),
  user: z.string().nullish(),
  negative_prompt: z.string().max(4000).nullish(),
  seed: formValue(z.number().int().nonnegative().nullish()),
  steps: formValue(z.number().int().min(1).nullish()),
  cfg_scale: formValue(z.number().min(0).max(30).nullish()),
  sampler: z.string().min(1).max(64).nullish(),
};

/**
 * Body of `POST /v1/images/generations` (text-to-image), with the Stable Diffusion extras
 * `negative_prompt`, `seed`, `steps`, `cfg_scale` and `sampler`. `model` may be omitted (the
 * gateway picks its default image service).
 *
 * @example
 * ```ts
 * ImageGenerationRequest.parse({ model: "stable-diffusion", prompt: "a lighthouse at dusk", size: "512x512", n: 1 });
 * ```
 */
export const ImageGenerationRequest = z.looseObject(imageFields);

/** A parsed {@link ImageGenerationRequest}. */
export type ImageGenerationRequest = z.infer<typeof ImageGenerationRequest>;

/**
 * Fields of `POST /v1/images/edits` once the gateway has read the multipart upload: `image` and
 * `mask` as base64 PNG, numbers possibly still as strings (they are converted). Without mask and
 * padding it is image-to-image (`strength` 0..1 = how far from the source); with `mask`
 * inpainting; with `padding` outpainting (mask and padding exclude each other).
 *
 * @example
 * ```ts
 * ImageEditRequest.parse({ image: pngBase64, prompt: "add a red boat", strength: "0.6", n: "1" });
 * ```
 */
export const ImageEditRequest = z
  .looseObject({
    ...imageFields,
    image: Base64Png,
    mask: Base64Png.nullish(),
    strength: formValue(z.number().min(0).max(1).nullish()),
    padding: formValue(OutpaintPadding.nullish()),
  })
  .superRefine((request, ctx) => {
    if (request.mask != null && request.padding != null) {
      ctx.addIssue({
        code: "custom",
        path: ["padding"],
        message: "outpainting padding cannot be combined with a mask",
      });
    }
  });

/** A parsed {@link ImageEditRequest}. */
export type ImageEditRequest = z.infer<typeof ImageEditRequest>;

/**
 * Which edit an {@link ImageEditRequest} asks for: `outpainting` (some padding), `inpainting`
 * (a mask) or `img2img`.
 *
 * @example
 * ```ts
 * imageEditMode({ mask: null, padding: { top: 0, right: 64, bottom: 0, left: 64 } }); // "outpainting"
 * ```
 */
export function imageEditMode(
  request: Pick<ImageEditRequest, "mask" | "padding">,
): "img2img" | "inpainting" | "outpainting" {
  const padding = request.padding;
  if (padding != null && padding.top + padding.right + padding.bottom + padding.left > 0)
    return "outpainting";
  if (request.mask != null) return "inpainting";
  return "img2img";
}
