import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RgbaImage } from "./png.js";
import { resizeRgba, resizeRgbaAsync } from "./resize.js";
import { countTurns } from "./testing.js";

/** A picture of pseudo-random bytes (xorshift from `seed`): every pixel differs from its neighbours. */
function noise(width: number, height: number, seed: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  let state = seed | 1;
  for (let p = 0; p < data.length; p++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[p] = state & 0xff;
  }
  return { width, height, data };
}

/** Same size and same bytes (a byte comparison: `toEqual` walks millions of elements slowly). */
function expectSameImage(actual: RgbaImage, expected: RgbaImage): void {
  expect([actual.width, actual.height]).toEqual([expected.width, expected.height]);
  expect(Buffer.compare(actual.data, expected.data)).toBe(0);
}

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

  it("resizes to the same bytes a band of rows at a time (resizeRgbaAsync)", async () => {
    // Output rows up to 2048 pixels wide and 96 high: several bands of rows, whatever the source.
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          from: fc.record({
            width: fc.integer({ min: 1, max: 300 }),
            height: fc.integer({ min: 1, max: 200 }),
          }),
          width: fc.integer({ min: 1, max: 2048 }),
          height: fc.integer({ min: 1, max: 96 }),
          seed: fc.integer(),
        }),
        async ({ from, width, height, seed }) => {
          const image = noise(from.width, from.height, seed);
          expectSameImage(await resizeRgbaAsync(image, width, height), resizeRgba(image, width, height));
        },
      ),
      { numRuns: 40 },
    );
    const image = solid(3, 2, [1, 2, 3, 4]);
    expect(await resizeRgbaAsync(image, 3, 2)).toBe(image);
  });

  it("lets the event loop turn between bands while it resizes a large picture", async () => {
    const image = noise(512, 512, 7);
    const turns = countTurns();
    const out = await resizeRgbaAsync(image, 1024, 1024);
    turns.stop();
    // 4 MiB of RGBA out, in bands of at most 256 KiB with a turn after each: sixteen or more.
    expect(turns.count()).toBeGreaterThanOrEqual(16);
    expectSameImage(out, resizeRgba(image, 1024, 1024));
  });
});
