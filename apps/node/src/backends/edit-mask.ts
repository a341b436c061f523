import { inRowBands, type RgbaImage } from "@pocket-ai/png";

/**
 * One flag per pixel of a `width` × `height` image: repaint (1) or keep (0), in the node's mask
 * convention (the gateway has already turned OpenAI's transparent-means-edit masks into it): a
 * mask with any transparency is read by alpha (painted strokes on a clear layer), an opaque one by
 * luminance (white on black); a mask of another size is scaled by nearest neighbour.
 */
export function repaintBits(mask: RgbaImage, width: number, height: number): Uint8Array {
  const useAlpha = transparentRows(mask, 0, mask.height);
  const bits = new Uint8Array(width * height);
  bitRows(mask, useAlpha, width, height, bits, 0, height);
  return bits;
}

/**
 * {@link repaintBits} a band of rows at a time, with a turn of the event loop between bands (see
 * `inRowBands`): a large mask does not hold the node's other relays. Same flags.
 */
export async function repaintBitsAsync(mask: RgbaImage, width: number, height: number): Promise<Uint8Array> {
  let useAlpha = false;
  await inRowBands(mask.height, mask.width * 4, (from, to) => {
    if (!useAlpha) useAlpha = transparentRows(mask, from, to);
  });
  const bits = new Uint8Array(width * height);
  // A flag reads one mask pixel and weighs its channels: a few bytes' worth of copying.
  await inRowBands(height, width * MASK_COST, (from, to) =>
    bitRows(mask, useAlpha, width, height, bits, from, to),
  );
  return bits;
}

/** The mask as an opaque picture, white where to repaint and black where to keep. */
export function repaintMaskImage(mask: RgbaImage, width: number, height: number): RgbaImage {
  const bits = repaintBits(mask, width, height);
  const data = new Uint8Array(width * height * 4);
  pictureRows(bits, width, data, 0, height);
  return { width, height, data };
}

/** {@link repaintMaskImage} a band of rows at a time (see `repaintBitsAsync`). Same bytes. */
export async function repaintMaskImageAsync(
  mask: RgbaImage,
  width: number,
  height: number,
): Promise<RgbaImage> {
  const bits = await repaintBitsAsync(mask, width, height);
  const data = new Uint8Array(width * height * 4);
  await inRowBands(height, width * 4 * MASK_COST, (from, to) => pictureRows(bits, width, data, from, to));
  return { width, height, data };
}

/** Work per byte of a mask pass, relative to copying one (see `inRowBands`). */
const MASK_COST = 4;

/** Whether any pixel of rows `[from, to)` of the mask is less than opaque. */
function transparentRows(mask: RgbaImage, from: number, to: number): boolean {
  const end = to * mask.width * 4;
  for (let p = from * mask.width * 4 + 3; p < end; p += 4) if (mask.data[p]! < 255) return true;
  return false;
}

function bitRows(
  mask: RgbaImage,
  useAlpha: boolean,
  width: number,
  height: number,
  bits: Uint8Array,
  from: number,
  to: number,
): void {
  const d = mask.data;
  for (let y = from; y < to; y++) {
    const my = Math.min(mask.height - 1, Math.floor((y * mask.height) / height));
    for (let x = 0; x < width; x++) {
      const mx = Math.min(mask.width - 1, Math.floor((x * mask.width) / width));
      const p = (my * mask.width + mx) * 4;
      const value = useAlpha ? d[p + 3]! : 0.299 * d[p]! + 0.587 * d[p + 1]! + 0.114 * d[p + 2]!;
      bits[y * width + x] = value > 127 ? 1 : 0;
    }
  }
}

function pictureRows(bits: Uint8Array, width: number, data: Uint8Array, from: number, to: number): void {
  for (let i = from * width; i < to * width; i++) {
    data.fill(bits[i] === 1 ? 255 : 0, i * 4, i * 4 + 3);
    data[i * 4 + 3] = 255;
  }
}
