import { type RgbaImage, readPngHeader, resizeRgba } from "@pocket-ai/png";
import type { OutpaintPadding } from "@pocket-ai/protocol";

/** Output width and height of an image request. */
export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

/** Reads `"WxH"`; undefined when absent or malformed (the node validated it already). */
export function parseSize(size: unknown): ImageSize | undefined {
  if (typeof size !== "string") return undefined;
  const match = /^(\d+)x(\d+)$/.exec(size);
  return match === null ? undefined : { width: Number(match[1]), height: Number(match[2]) };
}

/** Width and height from a PNG's IHDR, without decoding the pixels; undefined when it is not one. */
export function pngSize(png: Uint8Array): ImageSize | undefined {
  try {
    const { width, height } = readPngHeader(png);
    return { width, height };
  } catch {
    return undefined;
  }
}

/**
 * The source as it sits inside the outpainting canvas. With a requested `size`, the canvas is
 * that size and the source is scaled into it minus the padding (the protocol's meaning of
 * `padding`); without one the canvas grows around the source at its own size.
 */
export function fitOutpaintSource(
  source: RgbaImage,
  padding: OutpaintPadding,
  size: ImageSize | undefined,
): RgbaImage {
  if (size === undefined) return source;
  const width = Math.max(1, size.width - padding.left - padding.right);
  const height = Math.max(1, size.height - padding.top - padding.bottom);
  return resizeRgba(source, width, height);
}

/**
 * The padded canvas and its mask for an engine that only knows inpainting. The border repeats
 * the nearest edge pixel (so colours carry over the seam), opaque; the mask is white on the
 * border (repaint) and black over the source (keep).
 */
export function outpaintCanvas(
  source: RgbaImage,
  padding: OutpaintPadding,
): { canvas: RgbaImage; mask: RgbaImage } {
  const width = source.width + padding.left + padding.right;
  const height = source.height + padding.top + padding.bottom;
  const canvas = new Uint8Array(width * height * 4);
  const mask = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(source.height - 1, Math.max(0, y - padding.top));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(source.width - 1, Math.max(0, x - padding.left));
      const inside = x - padding.left === sx && y - padding.top === sy;
      const from = (sy * source.width + sx) * 4;
      const to = (y * width + x) * 4;
      canvas.set(source.data.subarray(from, from + 3), to);
      canvas[to + 3] = 255;
      mask.fill(inside ? 0 : 255, to, to + 3);
      mask[to + 3] = 255;
    }
  }
  return { canvas: { width, height, data: canvas }, mask: { width, height, data: mask } };
}
