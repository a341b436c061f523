import { decodePngAsync, encodeGrayPngAsync } from "@pocket-ai/png";

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
 * Rejects with `PngError` for a file it cannot read. Decoding, the conversion and the deflate run a
 * slice at a time or on zlib's thread pool (see `decodePngAsync`): a large mask does not hold the
 * gateway's event loop.
 */
export async function normaliseEditMask(png: Uint8Array): Promise<Buffer> {
  const { width, height, data } = await decodePngAsync(png, { maxPixels: MAX_MASK_PIXELS });
  let transparent = false;
  for (let p = 3; p < data.length; p += 4) {
    if (data[p]! < 255) {
      transparent = true;
      break;
    }
  }
  const gray = new Uint8Array(width * height);
  const slice = 1 << 18;
  for (let from = 0; from < gray.length; from += slice) {
    const to = Math.min(gray.length, from + slice);
    for (let i = from; i < to; i++) {
      const o = i * 4;
      const repaint = transparent
        ? data[o + 3]! < 128
        : 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]! > 127;
      gray[i] = repaint ? 255 : 0;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return Buffer.from(await encodeGrayPngAsync(width, height, gray));
}
