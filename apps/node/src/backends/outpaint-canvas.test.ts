import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { noiseImage, sameBytes } from "../../test/helpers/noise-image.js";
import {
  fitOutpaintSource,
  fitOutpaintSourceAsync,
  outpaintCanvas,
  outpaintCanvasAsync,
} from "./outpaint-canvas.js";

const side = fc.integer({ min: 0, max: 40 });
const padding = fc.record({ top: side, right: side, bottom: side, left: side });

describe("outpainting canvas, a band of rows at a time", () => {
  // Canvases up to 2048 pixels wide: several bands of rows each.
  it("builds the same canvas and mask as outpaintCanvas", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1968 }),
        fc.integer({ min: 1, max: 64 }),
        padding,
        fc.integer(),
        async (width, height, pad, seed) => {
          const source = noiseImage(width, height, seed);
          const sync = outpaintCanvas(source, pad);
          const banded = await outpaintCanvasAsync(source, pad);
          expect([banded.canvas.width, banded.canvas.height]).toEqual([
            sync.canvas.width,
            sync.canvas.height,
          ]);
          expect(sameBytes(banded.canvas.data, sync.canvas.data)).toBe(true);
          expect(sameBytes(banded.mask.data, sync.mask.data)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("scales the source into the same pixels as fitOutpaintSource", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ width: fc.integer({ min: 1, max: 2048 }), height: fc.integer({ min: 1, max: 96 }) }),
        fc.option(
          fc.record({ width: fc.integer({ min: 1, max: 2048 }), height: fc.integer({ min: 1, max: 96 }) }),
        ),
        padding,
        fc.integer(),
        async (from, size, pad, seed) => {
          const source = noiseImage(from.width, from.height, seed);
          const sync = fitOutpaintSource(source, pad, size ?? undefined);
          const banded = await fitOutpaintSourceAsync(source, pad, size ?? undefined);
          expect([banded.width, banded.height]).toEqual([sync.width, sync.height]);
          expect(sameBytes(banded.data, sync.data)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });
});
