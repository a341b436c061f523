import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { noiseImage, sameBytes } from "../../../test/helpers/noise-image.js";
import { composite, compositeAsync } from "./image-composite.js";

describe("compositeAsync", () => {
  it("blends the same bytes as composite, a band of rows at a time", async () => {
    // Canvases up to 2048 pixels wide: several bands of rows, border and inside both.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1968 }),
        fc.integer({ min: 1, max: 64 }),
        fc.record({ top: fc.nat(40), right: fc.nat(40), bottom: fc.nat(40), left: fc.nat(40) }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        async (w, h, pad, strength, seed) => {
          const init = noiseImage(w, h, seed);
          const width = w + pad.left + pad.right;
          const height = h + pad.top + pad.bottom;
          const field = noiseImage(width, height, seed ^ 0x5bd1e995).data;
          // Every other init pixel kept, as an inpainting mask would.
          const layout = { width, height, pad, strengthAt: (i: number) => (i % 2 === 0 ? strength : 0) };
          expect(sameBytes(await compositeAsync(init, field, layout), composite(init, field, layout))).toBe(
            true,
          );
        },
      ),
      { numRuns: 30 },
    );
  });
});
