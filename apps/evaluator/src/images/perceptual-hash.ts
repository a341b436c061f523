import type { RgbaImage } from "@pocket-ai/png";

/**
 * A difference hash (dHash) of an image: the picture is reduced to a (grid + 1) × grid grayscale
 * thumbnail by area averaging, and each bit says whether a cell is darker than its right-hand
 * neighbour. It keeps the coarse layout of light and dark and drops everything else, so the same
 * picture re-encoded, resized, stretched or lightly noised hashes (nearly) the same, while two
 * different pictures differ in about half of the bits. 16 → 256 bits, as 64 hex digits.
 */
export function differenceHash(image: RgbaImage, grid = 16): string {
  const cells = grayThumbnail(image, grid + 1, grid);
  let hex = "";
  let nibble = 0;
  let filled = 0;
  for (let y = 0; y < grid; y++) {
    for (let x = 0; x < grid; x++) {
      const row = y * (grid + 1);
      nibble = (nibble << 1) | (cells[row + x]! < cells[row + x + 1]! ? 1 : 0);
      filled += 1;
      if (filled === 4) {
        hex += nibble.toString(16);
        nibble = 0;
        filled = 0;
      }
    }
  }
  return filled === 0 ? hex : hex + (nibble << (4 - filled)).toString(16);
}

const POPCOUNT = Array.from({ length: 16 }, (_, n) => (n & 1) + ((n >> 1) & 1) + ((n >> 2) & 1) + (n >> 3));

/**
 * The share of differing bits between two hashes, 0 (same) … 1; about 0.5 for unrelated
 * pictures. Hashes of different lengths are as far apart as can be.
 */
export function hashDistance(a: string, b: string): number {
  if (a.length !== b.length || a.length === 0) return 1;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    differing += POPCOUNT[(Number.parseInt(a[i]!, 16) ^ Number.parseInt(b[i]!, 16)) & 15]!;
  }
  return differing / (a.length * 4);
}

/** Luma (BT.601) averaged over the source pixels that fall in each of `cols` × `rows` cells. */
export function grayThumbnail(image: RgbaImage, cols: number, rows: number): Float64Array {
  const { width, height, data } = image;
  const out = new Float64Array(cols * rows);
  for (let cy = 0; cy < rows; cy++) {
    const y0 = Math.floor((cy * height) / rows);
    const y1 = Math.max(y0 + 1, Math.floor(((cy + 1) * height) / rows));
    for (let cx = 0; cx < cols; cx++) {
      const x0 = Math.floor((cx * width) / cols);
      const x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * width) / cols));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const p = (y * width + x) * 4;
          sum += 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
        }
      }
      out[cy * cols + cx] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Red, green and blue averaged over the source pixels in each of `cols` × `rows` cells. */
export function colourThumbnail(image: RgbaImage, cols: number, rows: number): Float64Array {
  const { width, height, data } = image;
  const out = new Float64Array(cols * rows * 3);
  for (let cy = 0; cy < rows; cy++) {
    const y0 = Math.floor((cy * height) / rows);
    const y1 = Math.max(y0 + 1, Math.floor(((cy + 1) * height) / rows));
    for (let cx = 0; cx < cols; cx++) {
      const x0 = Math.floor((cx * width) / cols);
      const x1 = Math.max(x0 + 1, Math.floor(((cx + 1) * width) / cols));
      const sum = [0, 0, 0];
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const p = (y * width + x) * 4;
          sum[0]! += data[p]!;
          sum[1]! += data[p + 1]!;
          sum[2]! += data[p + 2]!;
        }
      }
      const cells = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 3; c++) out[(cy * cols + cx) * 3 + c] = sum[c]! / cells;
    }
  }
  return out;
}

/** The grid both reference distances look at: coarse enough that re-encoding and pixel noise average out. */
export const REFERENCE_GRID = 8;

/**
 * How far apart the layouts of two pictures are: 1 − the Pearson correlation of their 8 × 8
 * grayscale thumbnails, clamped to 0 … 1. Brightness and contrast changes, resizing and pixel noise
 * leave it near 0; a picture painted from other noise (another seed, other weights) lands near 1.
 * Two flat pictures are the same layout (0); a flat and a varied one are unrelated (1).
 */
export function layoutDistance(a: RgbaImage, b: RgbaImage): number {
  const x = grayThumbnail(a, REFERENCE_GRID, REFERENCE_GRID);
  const y = grayThumbnail(b, REFERENCE_GRID, REFERENCE_GRID);
  const mean = (v: Float64Array) => v.reduce((s, n) => s + n, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    xy += dx * dy;
    xx += dx * dx;
    yy += dy * dy;
  }
  // Below a tenth of a level of spread per cell a thumbnail is flat.
  const flat = (v: number) => v < 0.01 * x.length;
  if (flat(xx) || flat(yy)) return flat(xx) && flat(yy) ? 0 : 1;
  return Math.min(1, Math.max(0, 1 - xy / Math.sqrt(xx * yy)));
}

/**
 * How far apart the colours of two pictures are: the mean absolute difference of their 8 × 8 RGB
 * thumbnails, as a share of the 0–255 range (0 = the same, 1 = black against white). Pictures of
 * different sizes are compared cell by cell, as if stretched to one size.
 */
export function colourDistance(a: RgbaImage, b: RgbaImage): number {
  const x = colourThumbnail(a, REFERENCE_GRID, REFERENCE_GRID);
  const y = colourThumbnail(b, REFERENCE_GRID, REFERENCE_GRID);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
  return sum / x.length / 255;
}
