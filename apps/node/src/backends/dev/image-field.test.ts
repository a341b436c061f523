import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sameBytes } from "../../../test/helpers/noise-image.js";
import { renderField, renderFieldAsync } from "./image-field.js";

describe("renderFieldAsync", () => {
  it("paints the same bytes as renderField, grain included, a band of rows at a time", async () => {
    // Up to 320 pixels wide and 48 high: several bands of rows, with the grain's one random
    // stream carried across them (quality below 1).
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 320 }),
        fc.integer({ min: 1, max: 48 }),
        fc.record({
          prompt: fc.string({ maxLength: 12 }),
          negativePrompt: fc.string({ maxLength: 6 }),
          seed: fc.integer({ min: 0, max: 2 ** 40 }),
          steps: fc.integer({ min: 1, max: 50 }),
          cfgScale: fc.integer({ min: 1, max: 20 }),
          quality: fc.constantFrom(0, 0.4, 1),
        }),
        fc.integer({ min: -40, max: 0 }),
        fc.integer({ min: -40, max: 0 }),
        async (width, height, params, originX, originY) => {
          const banded = await renderFieldAsync(width, height, params, originX, originY);
          expect(sameBytes(banded, renderField(width, height, params, originX, originY))).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });
});
