import { decodePng, encodePng } from "@pocket-ai/png";

/**
 * Masks larger than this many pixels are refused before anything is inflated (with the codec's
 * inflation cap, a decompression bomb cannot allocate past what this size allows).
 */
export const MAX_MASK_PIXELS = 4096 * 4096;

/**
 * OpenAI's edit mask marks the area to repaint with transparency; nodes (like AUTOMATIC1111) read
 * an opaque mask as white = repaint. The rule: a mask with any transparency repaints where
 * alpha < 128; a fully opaque mask is already in the node convention and repaints where
 * luminance > 127. The result is an opaque black-and-white (8-bit gray) PNG of the same size.
 * Throws `PngError` for a file it cannot read.
 */
export function normaliseEditMask(png: Uint8Array): Buffer {
  const { width, height, data } = decodePng(png, { maxPixels: MAX_MASK_PIXELS });
  let transparent = false;
  for (let p = 3; p < data.length; p += 4) {
    if (data[p]! < 255) {
      transparent = true;
      break;
    }
  }
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const o = i * 4;
    const repaint = transparent
      ? data[o + 3]! < 128
      : 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]! > 127;
    out.fill(repaint ? 255 : 0, o, o + 3);
    out[o + 3] = 255;
  }
  return Buffer.from(encodePng({ width, height, data: out }, { colorType: 0, filter: 0 }));
}
