import { inRowBands, type RgbaImage, readPngHeader, resizeRgba, resizeRgbaAsync } from "@pocket-ai/png";
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

/** The source's size inside the outpainting canvas; undefined when it keeps its own. */
function fittedSize(padding: OutpaintPadding, size: ImageSize | undefined): ImageSize | undefined {
  if (size === undefined) return undefined;
  return {
    width: Math.max(1, size.width - padding.left - padding.right),
    height: Math.max(1, size.height - padding.top - padding.bottom),
  };
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
  const fitted = fittedSize(padding, size);
  return fitted === undefined ? source : resizeRgba(source, fitted.width, fitted.height);
}

/** {@link fitOutpaintSource} scaled a band of rows at a time (see `resizeRgbaAsync`). Same bytes. */
export async function fitOutpaintSourceAsync(
  source: RgbaImage,
  padding: OutpaintPadding,
  size: ImageSize | undefined,
): Promise<RgbaImage> {
  const fitted = fittedSize(padding, size);
  return fitted === undefined ? source : await resizeRgbaAsync(source, fitted.width, fitted.height);
}

/**
 * The padded canvas and its mask for an engine that only knows inpainting. The border repeats
 * the nearest edge pixel (so colours carry over the seam), opaque; the mask is white on the
 * border (repaint) and black over the source (keep).
 */
export function outpaintCanvas(source: RgbaImage, padding: OutpaintPadding): OutpaintCanvas {
  const out = blankCanvas(source, padding);
  canvasRows(source, padding, out, 0, out.canvas.height);
  return out;
}

/**
 * {@link outpaintCanvas} a band of rows at a time, with a turn of the event loop between bands
 * (see `inRowBands`): a large canvas does not hold the node's other relays. Same bytes.
 */
export async function outpaintCanvasAsync(
  source: RgbaImage,
  padding: OutpaintPadding,
): Promise<OutpaintCanvas> {
  const out = blankCanvas(source, padding);
  const { width, height } = out.canvas;
  // Each pixel is written twice (canvas and mask) through a few small copies.
  await inRowBands(height, width * 4 * CANVAS_COST, (from, to) => canvasRows(source, padding, out, from, to));
  return out;
}

/** An outpainting canvas and its mask, the same size. */
export interface OutpaintCanvas {
  readonly canvas: RgbaImage;
  readonly mask: RgbaImage;
}

/** Work per canvas byte, relative to copying one (see `inRowBands`). */
const CANVAS_COST = 4;

function blankCanvas(source: RgbaImage, padding: OutpaintPadding): OutpaintCanvas {
  const width = source.width + padding.left + padding.right;
  const height = source.height + padding.top + padding.bottom;
  return {
    canvas: { width, height, data: new Uint8Array(width * height * 4) },
    mask: { width, height, data: new Uint8Array(width * height * 4) },
  };
}

/** Fills rows `[from, to)` of the canvas and its mask. */
function canvasRows(
  source: RgbaImage,
  padding: OutpaintPadding,
  out: OutpaintCanvas,
  from: number,
  to: number,
): void {
  const { width } = out.canvas;
  const canvas = out.canvas.data;
  const mask = out.mask.data;
  for (let y = from; y < to; y++) {
    const sy = Math.min(source.height - 1, Math.max(0, y - padding.top));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(source.width - 1, Math.max(0, x - padding.left));
      const inside = x - padding.left === sx && y - padding.top === sy;
      const read = (sy * source.width + sx) * 4;
      const write = (y * width + x) * 4;
      canvas.set(source.data.subarray(read, read + 3), write);
      canvas[write + 3] = 255;
      mask.fill(inside ? 0 : 255, write, write + 3);
      mask[write + 3] = 255;
    }
  }
}
