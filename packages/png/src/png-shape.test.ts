import { describe, expect, it } from "vitest";
import { encodePng } from "./png.js";
import { pngMismatch } from "./png-shape.js";

const png = (width: number, height: number) =>
  encodePng({ width, height, data: new Uint8Array(width * height * 4).fill(200) });

describe("pngMismatch", () => {
  it("accepts a whole PNG of the size asked", () => {
    expect(pngMismatch(png(8, 4), { width: 8, height: 4 })).toBeUndefined();
  });

  it("names what is wrong: another size, a cut file, bytes that are no PNG, two PNGs glued", () => {
    const whole = png(8, 4);
    expect(pngMismatch(whole, { width: 4, height: 8 })).toBe("is 8x4, not the 4x8 asked for");
    expect(pngMismatch(whole.subarray(0, whole.length - 1), { width: 8, height: 4 })).toMatch(/IEND/);
    expect(pngMismatch(whole.subarray(0, 20), { width: 8, height: 4 })).toMatch(/truncated/);
    expect(
      pngMismatch(new TextEncoder().encode("not an image at all, honest"), { width: 8, height: 4 }),
    ).toMatch(/PNG/);
    const glued = new Uint8Array([...whole, ...png(2, 2).subarray(0, 40)]);
    expect(pngMismatch(glued, { width: 8, height: 4 })).toMatch(/IEND/);
    // A changed IHDR (the size rewritten without its CRC) is caught by the header's checksum.
    const forged = whole.slice();
    forged[19] = 16;
    expect(pngMismatch(forged, { width: 16, height: 4 })).toMatch(/CRC/);
  });
});
