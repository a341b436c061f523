import type { RgbaImage } from "@pocket-ai/png";
import {
  COLOUR_MAX_HUE_DISTANCE,
  COLOUR_MIN_CONCENTRATION,
  COLOUR_MIN_SATURATED_SHARE,
  EDIT_CHANGED_MIN_LEVELS,
  EDIT_KEPT_MAX_LEVELS,
  STRENGTH_MIN_STEP_LEVELS,
  STRENGTH_TOLERANCE_LEVELS,
} from "./image-thresholds.js";

/**
 * Checks that look at what a picture shows, without a model: the colour a prompt names, how far an
 * edit moved from its source, and which pixels an edit kept. Distances are mean absolute
 * differences of R, G and B in 0–255 levels over a region.
 */

/** A rectangle in pixels: [x0, x1) × [y0, y1). */
export interface Rect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** Named colours a colour probe asks for, by hue (degrees), at least 55° apart. */
export const PROBE_COLOURS = {
  red: 0,
  yellow: 55,
  green: 120,
  blue: 220,
  purple: 275,
} as const;
export type ProbeColour = keyof typeof PROBE_COLOURS;

const hueGap = (a: number, b: number) => {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
};

/**
 * The picture's dominant hue: the saturation-weighted circular mean of the hues of its saturated
 * pixels (HSV saturation ≥ 0.25, value ≥ 0.15), and the share of pixels that are saturated.
 */
export function dominantHue(image: RgbaImage): {
  hue: number | null;
  saturatedShare: number;
  concentration: number;
} {
  const { data } = image;
  let x = 0;
  let y = 0;
  let saturated = 0;
  let weights = 0;
  const pixels = data.length / 4;
  for (let p = 0; p < data.length; p += 4) {
    const r = data[p]! / 255;
    const g = data[p + 1]! / 255;
    const b = data[p + 2]! / 255;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const chroma = max - min;
    if (max < 0.15 || chroma / max < 0.25) continue;
    saturated += 1;
    let h: number;
    if (max === r) h = ((g - b) / chroma) % 6;
    else if (max === g) h = (b - r) / chroma + 2;
    else h = (r - g) / chroma + 4;
    const angle = (h * Math.PI) / 3;
    const weight = chroma / max;
    weights += weight;
    x += weight * Math.cos(angle);
    y += weight * Math.sin(angle);
  }
  if (saturated === 0) return { hue: null, saturatedShare: 0, concentration: 0 };
  const hue = ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
  // How much the hues agree: 1 when all are one hue, near 0 for hues all round the circle (noise).
  const concentration = Math.hypot(x, y) / weights;
  return { hue, saturatedShare: saturated / Math.max(1, pixels), concentration };
}

/**
 * The colour check: enough saturated pixels, hues that agree (not noise all round the colour
 * circle), and their mean near the hue the prompt named.
 */
export function showsColour(image: RgbaImage, colour: ProbeColour): boolean {
  const { hue, saturatedShare, concentration } = dominantHue(image);
  return (
    hue !== null &&
    saturatedShare >= COLOUR_MIN_SATURATED_SHARE &&
    concentration >= COLOUR_MIN_CONCENTRATION &&
    hueGap(hue, PROBE_COLOURS[colour]) <= COLOUR_MAX_HUE_DISTANCE
  );
}

/**
 * Mean absolute difference of R, G and B between `a` and `b` (same size) over the pixels `inside`
 * accepts; null when the sizes differ or no pixel is counted.
 */
export function meanDifference(
  a: RgbaImage,
  b: RgbaImage,
  inside: (x: number, y: number) => boolean = () => true,
): number | null {
  if (a.width !== b.width || a.height !== b.height) return null;
  let sum = 0;
  let count = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      if (!inside(x, y)) continue;
      const p = (y * a.width + x) * 4;
      sum +=
        Math.abs(a.data[p]! - b.data[p]!) +
        Math.abs(a.data[p + 1]! - b.data[p + 1]!) +
        Math.abs(a.data[p + 2]! - b.data[p + 2]!);
      count += 3;
    }
  }
  return count === 0 ? null : sum / count;
}

/** `rect` grown by `by` pixels on every side (negative shrinks). */
export const grow = (rect: Rect, by: number): Rect => ({
  x0: rect.x0 - by,
  y0: rect.y0 - by,
  x1: rect.x1 + by,
  y1: rect.y1 + by,
});
export const within = (rect: Rect) => (x: number, y: number) =>
  x >= rect.x0 && x < rect.x1 && y >= rect.y0 && y < rect.y1;

/**
 * Image-to-image strength: distances from the source at increasing strengths must increase — the
 * lowest clearly below the highest, and no step going back by more than a small tolerance. A node
 * that ignores the source (or the strength) answers at one distance whatever it is asked.
 */
export function strengthMonotonic(distances: readonly (number | null)[]): boolean {
  if (distances.length < 2 || distances.some((d) => d === null)) return false;
  const d = distances as readonly number[];
  for (let i = 1; i < d.length; i++) if (d[i]! < d[i - 1]! - STRENGTH_TOLERANCE_LEVELS) return false;
  return d[d.length - 1]! - d[0]! >= STRENGTH_MIN_STEP_LEVELS;
}

/**
 * Inpainting: outside the mask (beyond a band where the edit may blend) the source's pixels are
 * kept; inside it (away from the band) the picture changed.
 */
export function inpaintKeeps(source: RgbaImage, result: RgbaImage, mask: Rect, band: number): boolean {
  const outer = within(grow(mask, band));
  const kept = meanDifference(source, result, (x, y) => !outer(x, y));
  const changed = meanDifference(source, result, within(grow(mask, -band)));
  return (
    kept !== null && changed !== null && kept <= EDIT_KEPT_MAX_LEVELS && changed >= EDIT_CHANGED_MIN_LEVELS
  );
}

/**
 * Outpainting: the result is the canvas size, the source sits unchanged (beyond a blending band)
 * where the padding put it, and the new border is not a flat fill.
 */
export function outpaintKeeps(
  source: RgbaImage,
  result: RgbaImage,
  canvas: { readonly width: number; readonly height: number },
  at: Rect,
  band: number,
): boolean {
  if (result.width !== canvas.width || result.height !== canvas.height) return false;
  if (source.width !== at.x1 - at.x0 || source.height !== at.y1 - at.y0) return false;
  const inner = grow(at, -band);
  let sum = 0;
  let count = 0;
  for (let y = inner.y0; y < inner.y1; y++) {
    for (let x = inner.x0; x < inner.x1; x++) {
      const r = (y * result.width + x) * 4;
      const s = ((y - at.y0) * source.width + (x - at.x0)) * 4;
      for (let c = 0; c < 3; c++) sum += Math.abs(result.data[r + c]! - source.data[s + c]!);
      count += 3;
    }
  }
  if (count === 0) return false;
  const outside = within(grow(at, band));
  let border = 0;
  let borderSum = 0;
  let borderSquares = 0;
  for (let y = 0; y < result.height; y++) {
    for (let x = 0; x < result.width; x++) {
      if (outside(x, y)) continue;
      const p = (y * result.width + x) * 4;
      const v = (result.data[p]! + result.data[p + 1]! + result.data[p + 2]!) / 3;
      border += 1;
      borderSum += v;
      borderSquares += v * v;
    }
  }
  if (border === 0) return false;
  const mean = borderSum / border;
  const spread = Math.sqrt(Math.max(0, borderSquares / border - mean * mean));
  return sum / count <= EDIT_KEPT_MAX_LEVELS && spread >= EDIT_CHANGED_MIN_LEVELS / 2;
}
