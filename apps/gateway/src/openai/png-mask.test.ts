import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodePng, encodePng, normaliseEditMask, PngMaskError } from "./png-mask.js";

/** A 4×2 RGBA image: left half transparent, right half opaque. */
function halfTransparent() {
  const px = new Uint8Array(4 * 2 * 4);
  for (let i = 0; i < 8; i++) px.set([10, 20, 30, i % 4 < 2 ? 0 : 255], i * 4);
  return encodePng(4, 2, 4, px);
}

describe("decodePng", () => {
  it("reads back what encodePng wrote, for every channel count", () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const px = Uint8Array.from({ length: 3 * 2 * channels }, (_, i) => (i * 37) % 256);
      const img = decodePng(encodePng(3, 2, channels, px));
      expect([img.width, img.height]).toEqual([3, 2]);
      const first = Array.from(img.data.subarray(0, 4));
      if (channels === 4) expect(first).toEqual(Array.from(px.subarray(0, 4)));
      if (channels === 1) expect(first).toEqual([0, 0, 0, 255]);
    }
  });

  it("undoes every PNG row filter", () => {
    // One grey 3×5 image, rows filtered with None, Sub, Up, Average, Paeth, by hand.
    const rows = [
      [0, 10, 20, 30],
      [1, 5, 5, 5], // Sub: 5, 10, 15
      [2, 1, 1, 1], // Up: 6, 11, 16
      [3, 4, 4, 4], // Average(left, up): 4+3=7, 4+(7+11)/2=13, 4+(13+16)/2=18
      [4, 1, 1, 1], // Paeth
    ];
    const img = decodePng(pngFromRaw(3, 5, 0, Buffer.from(rows.flat())));
    const grey = Array.from({ length: 15 }, (_, i) => img.data[i * 4]!);
    expect(grey).toEqual([10, 20, 30, 5, 10, 15, 6, 11, 16, 7, 13, 18, 8, 14, 19]);
  });

  it("refuses what it cannot read, with a PngMaskError", () => {
    expect(() => decodePng(Buffer.from("not a png at all, definitely not"))).toThrow(PngMaskError);
    const sixteenBit = pngFromRaw(1, 1, 0, Buffer.from([0, 0, 0]), 16);
    expect(() => decodePng(sixteenBit)).toThrow(/8-bit/);
  });
});

describe("normaliseEditMask", () => {
  it("turns OpenAI's transparent = edit into opaque white = repaint", () => {
    const out = decodePng(normaliseEditMask(halfTransparent()));
    const grey = Array.from({ length: 8 }, (_, i) => out.data[i * 4]!);
    expect(grey).toEqual([255, 255, 0, 0, 255, 255, 0, 0]);
    expect(Array.from({ length: 8 }, (_, i) => out.data[i * 4 + 3])).toEqual(new Array(8).fill(255));
  });

  it("keeps an opaque mask's meaning: white (luminance > 127) repaints", () => {
    const px = Uint8Array.from([255, 255, 255, 200, 200, 200, 100, 100, 100, 0, 0, 0]);
    const out = decodePng(normaliseEditMask(encodePng(4, 1, 3, px)));
    expect(Array.from({ length: 4 }, (_, i) => out.data[i * 4])).toEqual([255, 255, 0, 0]);
  });
});

function pngFromRaw(width: number, height: number, color: number, raw: Buffer, depth = 8): Buffer {
  const template = encodePng(width, height, 1, new Uint8Array(width * height));
  const ihdrAt = 8;
  const out = Buffer.from(template.subarray(0, ihdrAt + 8 + 13 + 4));
  out[ihdrAt + 8 + 8] = depth;
  out[ihdrAt + 8 + 9] = color;
  const idat = deflateSync(raw);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(idat.length, 0);
  head.write("IDAT", 4, "latin1");
  // CRCs are not checked by the decoder (the body is inflated and length-checked instead).
  return Buffer.concat([
    out,
    head,
    idat,
    Buffer.alloc(4),
    Buffer.from([0, 0, 0, 0, 73, 69, 78, 68, 0, 0, 0, 0]),
  ]);
}
