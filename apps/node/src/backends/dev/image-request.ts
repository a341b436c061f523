import { z } from "zod";
import { describeIssues } from "./request-error.js";

const Side = z.number().int().min(8).max(2048);
const Common = {
  prompt: z.string(),
  negativePrompt: z.string().optional().default(""),
  /** Image i of a batch uses seed + i, as AUTOMATIC1111 does. Random (and returned) when absent. */
  seed: z.number().int().refine(Number.isSafeInteger, "seed must be a safe integer").optional(),
  steps: z.number().int().min(1).max(150).optional().default(20),
  cfgScale: z.number().min(0).max(30).optional().default(7),
  n: z.number().int().min(1).max(8).optional().default(1),
};

export const ImageGenerateRequest = z.object({ ...Common, width: Side, height: Side });
export type ImageGenerateRequest = z.input<typeof ImageGenerateRequest>;

// Buffers from node:fs or HTTP bodies are Uint8Arrays over any ArrayBufferLike.
const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected PNG bytes");
const Pad = z.number().int().min(0).max(1024);
export const ImageEditRequest = z.object({
  ...Common,
  /** The init image (PNG). */
  image: Bytes,
  /** White (alpha, or luminance when fully opaque, above 127) marks pixels to repaint. */
  mask: Bytes.optional(),
  /** How far repainted pixels move from the init image toward the generated picture. */
  strength: z.number().min(0).max(1).optional().default(0.75),
  /** Outpainting: grow the canvas by these many pixels and paint only the new border. */
  padding: z.object({ top: Pad, right: Pad, bottom: Pad, left: Pad }).optional(),
});
export type ImageEditRequest = z.input<typeof ImageEditRequest>;

export function parseImageRequest<S extends z.ZodType>(schema: S, request: z.input<S>): z.output<S> {
  const parsed = schema.safeParse(request);
  if (!parsed.success) throw describeIssues("image request", parsed.error.issues);
  return parsed.data;
}
