import { describe, expect, it } from "vitest";
import type { RgbaImage } from "./png.js";
import { resizeRgba } from "./resize.js";

function solid(width: number, height: number, rgba: readonly number[]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < data.length; p++) data[p] = rgba[p % 4]!;
  return { width, height, data };
}

describe("resizeRgba", () => {
  it("returns the same image when the size already matches", () => {
    const image = solid(3, 2, [1, 2, 3, 4]);
    expect(resizeRgba(image, 3, 2)).toBe(image);
  });

  it("keeps a flat colour flat at any size", () => {
    const out = resizeRgba(solid(5, 7, [10, 200, 30, 255]), 13, 4);
    expect(out.width).toBe(13);
    expect(out.height).toBe(4);
    expect(out.data.length).toBe(13 * 4 * 4);
    for (let p = 0; p < out.data.length; p += 4)
      expect([...out.data.subarray(p, p + 4)]).toEqual([10, 200, 30, 255]);
  });

  it("blends neighbours bilinearly when upscaling", () => {
    // Two pixels, black then white, stretched to four: the ends stay, the middle blends.
    const image: RgbaImage = { width: 2, height: 1, data: Uint8Array.of(0, 0, 0, 255, 255, 255, 255, 255) };
    const out = resizeRgba(image, 4, 1);
    expect([...out.data].filter((_, i) => i % 4 === 0)).toEqual([0, 64, 191, 255]);
  });

  it("averages a 2×2 block down to one pixel", () => {
    const image: RgbaImage = {
      width: 2,
      height: 2,
      data: Uint8Array.of(0, 0, 0, 255, 100, 0, 0, 255, 0, 100, 0, 255, 100, 100, 0, 255),
    };
    expect([...resizeRgba(image, 1, 1).data]).toEqual([50, 50, 0, 255]);
  });
});
