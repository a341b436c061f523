import type { RgbaImage } from "@pocket-ai/png";

/**
 * One flag per pixel of a `width` × `height` image: repaint (1) or keep (0), in the node's mask
 * convention (the gateway has already turned OpenAI's transparent-means-edit masks into it): a
 * mask with any transparency is read by alpha (painted strokes on a clear layer), an opaque one by
 * luminance (white on black); a mask of another size is scaled by nearest neighbour.
 */
export function repaintBits(mask: RgbaImage, width: number, height: number): Uint8Array {
  let useAlpha = false;
  for (let p = 3; p < mask.data.length; p += 4) if (mask.data[p]! < 255) useAlpha = true;
  const bits = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const my = Math.min(mask.height - 1, Math.floor((y * mask.height) / height));
    for (let x = 0; x < width; x++) {
      const mx = Math.min(mask.width - 1, Math.floor((x * mask.width) / width));
      const p = (my * mask.width + mx) * 4;
      const d = mask.data;
      const value = useAlpha ? d[p + 3]! : 0.299 * d[p]! + 0.587 * d[p + 1]! + 0.114 * d[p + 2]!;
      bits[y * width + x] = value > 127 ? 1 : 0;
    }
  }
  return bits;
}

/** The mask as an opaque picture, white where to repaint and black where to keep. */
export function repaintMaskImage(mask: RgbaImage, width: number, height: number): RgbaImage {
  const bits = repaintBits(mask, width, height);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < bits.length; i++) {
    data.fill(bits[i] === 1 ? 255 : 0, i * 4, i * 4 + 3);
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}
