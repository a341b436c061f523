import type { RgbaImage } from "@pocket-ai/png";

/** What the blank check looks at: how much each colour channel varies, and how many colours there are. */
export interface PixelStats {
  /** Standard deviation of red, green and blue over all pixels, in 0–255 levels. */
  readonly channelStdDev: readonly [number, number, number];
  /** Distinct RGB colours, counted up to {@link COLOUR_COUNT_CAP}. */
  readonly distinctColours: number;
}

/** Counting stops here: the check only needs "more than a few". */
export const COLOUR_COUNT_CAP = 1024;

export function pixelStats(image: RgbaImage): PixelStats {
  const { data } = image;
  const pixels = data.length / 4;
  const sum = [0, 0, 0];
  const squares = [0, 0, 0];
  const colours = new Set<number>();
  for (let p = 0; p < data.length; p += 4) {
    const r = data[p]!;
    const g = data[p + 1]!;
    const b = data[p + 2]!;
    sum[0]! += r;
    sum[1]! += g;
    sum[2]! += b;
    squares[0]! += r * r;
    squares[1]! += g * g;
    squares[2]! += b * b;
    if (colours.size < COLOUR_COUNT_CAP) colours.add((r << 16) | (g << 8) | b);
  }
  const std = (c: number) => {
    if (pixels === 0) return 0;
    const mean = sum[c]! / pixels;
    return Math.sqrt(Math.max(0, squares[c]! / pixels - mean * mean));
  };
  return { channelStdDev: [std(0), std(1), std(2)], distinctColours: colours.size };
}
