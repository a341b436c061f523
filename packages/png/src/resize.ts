import type { RgbaImage } from "./png.js";
import { inRowBands } from "./row-bands.js";

/**
 * Bilinear resampling of an RGBA image to `width` × `height` (sampled at pixel centres, edges
 * clamped). Returns the image itself when the size already matches.
 */
export function resizeRgba(image: RgbaImage, width: number, height: number): RgbaImage {
  if (image.width === width && image.height === height) return image;
  const data = new Uint8Array(width * height * 4);
  resizeRows(image, width, height, data, 0, height);
  return { width, height, data };
}

/**
 * {@link resizeRgba} a band of rows at a time, with a turn of the event loop between bands (see
 * `inRowBands`): a server scaling a large picture goes on answering its other requests. Same bytes.
 */
export async function resizeRgbaAsync(image: RgbaImage, width: number, height: number): Promise<RgbaImage> {
  if (image.width === width && image.height === height) return image;
  const data = new Uint8Array(width * height * 4);
  // A resampled byte blends four: a few bytes' worth of copying each.
  await inRowBands(height, width * 4 * RESIZE_COST, (from, to) =>
    resizeRows(image, width, height, data, from, to),
  );
  return { width, height, data };
}

/** Work per output byte of a resize, relative to copying one (see `inRowBands`). */
const RESIZE_COST = 4;

/** Writes output rows `[from, to)` of `image` resized to `width` × `height` into `data`. */
function resizeRows(
  image: RgbaImage,
  width: number,
  height: number,
  data: Uint8Array,
  from: number,
  to: number,
): void {
  const at = (x: number, y: number, c: number) => image.data[(y * image.width + x) * 4 + c] ?? 0;
  for (let y = from; y < to; y++) {
    const sy = Math.min(image.height - 1, Math.max(0, ((y + 0.5) * image.height) / height - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(image.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.max(0, ((x + 0.5) * image.width) / width - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(image.width - 1, x0 + 1);
      const fx = sx - x0;
      for (let c = 0; c < 4; c++) {
        const top = at(x0, y0, c) * (1 - fx) + at(x1, y0, c) * fx;
        const bottom = at(x0, y1, c) * (1 - fx) + at(x1, y1, c) * fx;
        data[(y * width + x) * 4 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
}
