import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";
import { decodePng, encodePng, type PngColorType, PngError, type PngFilter } from "./png.js";

const image = (colorType: PngColorType) =>
  fc
    .record({ width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }) })
    .chain(({ width, height }) =>
      fc.uint8Array({ minLength: width * height * 4, maxLength: width * height * 4 }).map((data) => {
        // Gray types store one value for r, g and b; opaque types store no alpha.
        for (let p = 0; p < data.length; p += 4) {
          if (colorType === 0 || colorType === 4) data[p + 1] = data[p + 2] = data[p]!;
          if (colorType === 0 || colorType === 2) data[p + 3] = 255;
        }
        return { width, height, data };
      }),
    );

describe("png", () => {
  it("computes the standard CRC-32 check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("round-trips RGBA with the adaptive filter and each fixed filter", () => {
    const filters: (PngFilter | undefined)[] = [undefined, 0, 1, 2, 3, 4];
    fc.assert(
      fc.property(image(6), fc.constantFrom(...filters), (img, filter) => {
        const png = encodePng(img, filter === undefined ? {} : { filter });
        const back = decodePng(png);
        expect(back.width).toBe(img.width);
        expect(back.height).toBe(img.height);
        expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("decodes grayscale, grayscale + alpha and RGB files to RGBA", () => {
    for (const colorType of [0, 2, 4] as const) {
      fc.assert(
        fc.property(image(colorType), fc.constantFrom<PngFilter>(0, 1, 2, 3, 4), (img, filter) => {
          const back = decodePng(encodePng(img, { colorType, filter }));
          expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
        }),
        { numRuns: 40 },
      );
    }
  });

  it("rejects damaged or unsupported files", () => {
    const png = encodePng({ width: 2, height: 2, data: new Uint8Array(16).fill(9) });
    expect(() => decodePng(png.subarray(0, 20))).toThrow(PngError);
    const flipped = png.slice();
    flipped[40] = flipped[40]! ^ 0xff;
    expect(() => decodePng(flipped)).toThrow(PngError);
    expect(() => decodePng(new TextEncoder().encode("GIF89a"))).toThrow(/not a PNG/);
    const sixteenBit = png.slice();
    sixteenBit[24] = 16;
    // Fix the IHDR CRC so the failure is about the bit depth, not the checksum.
    new DataView(sixteenBit.buffer).setUint32(29, crc32(sixteenBit.subarray(12, 29)));
    expect(() => decodePng(sixteenBit)).toThrow(/bit depth 16/);
  });
});
