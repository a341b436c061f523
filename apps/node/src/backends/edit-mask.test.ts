import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { noiseImage, sameBytes } from "../../test/helpers/noise-image.js";
import { repaintBits, repaintBitsAsync, repaintMaskImage, repaintMaskImageAsync } from "./edit-mask.js";

/**
 * Masks up to 2048 pixels wide (several bands of rows): noisy alpha, opaque, or opaque but for
 * one clear pixel anywhere (which must switch the whole mask to alpha, whichever band holds it).
 */
const mask = fc
  .record({
    width: fc.integer({ min: 1, max: 2048 }),
    height: fc.integer({ min: 1, max: 160 }),
    seed: fc.integer(),
    alpha: fc.constantFrom("noisy", "opaque", "one-clear"),
    at: fc.nat(),
  })
  .map(({ width, height, seed, alpha, at }) => {
    const image = noiseImage(width, height, seed, alpha !== "noisy");
    if (alpha === "one-clear") image.data[(at % (width * height)) * 4 + 3] = 0;
    return image;
  });
const size = fc.record({
  width: fc.integer({ min: 1, max: 2048 }),
  height: fc.integer({ min: 1, max: 160 }),
});

describe("repaint masks, a band of rows at a time", () => {
  it("reads the same flags and paints the same picture as the whole-mask forms", async () => {
    await fc.assert(
      fc.asyncProperty(mask, size, async (m, { width, height }) => {
        expect(sameBytes(await repaintBitsAsync(m, width, height), repaintBits(m, width, height))).toBe(true);
        const banded = await repaintMaskImageAsync(m, width, height);
        expect(sameBytes(banded.data, repaintMaskImage(m, width, height).data)).toBe(true);
        expect([banded.width, banded.height]).toEqual([width, height]);
      }),
      { numRuns: 40 },
    );
  });
});
