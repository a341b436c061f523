import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodePng, pngChunk } from "./png.js";
import { base64PngsMismatch, pngMismatch } from "./png-shape.js";

const png = (width: number, height: number) =>
  encodePng({ width, height, data: new Uint8Array(width * height * 4).fill(200) });

describe("pngMismatch", () => {
  it("accepts a whole PNG of the size asked", async () => {
    expect(await pngMismatch(png(8, 4), { width: 8, height: 4 })).toBeUndefined();
  });

  it("names what is wrong: another size, a cut file, bytes that are no PNG, two PNGs glued", async () => {
    const whole = png(8, 4);
    expect(await pngMismatch(whole, { width: 4, height: 8 })).toBe("is 8x4, not the 4x8 asked for");
    expect(await pngMismatch(whole.subarray(0, whole.length - 1), { width: 8, height: 4 })).toMatch(/IEND/);
    expect(await pngMismatch(whole.subarray(0, 20), { width: 8, height: 4 })).toMatch(/truncated/);
    expect(
      await pngMismatch(new TextEncoder().encode("not an image at all, honest"), { width: 8, height: 4 }),
    ).toMatch(/PNG/);
    const glued = new Uint8Array([...whole, ...png(2, 2).subarray(0, 40)]);
    expect(await pngMismatch(glued, { width: 8, height: 4 })).toMatch(/IEND/);
    // Two whole PNGs one after the other, or a PNG, anything, and an IEND copied onto the end.
    expect(await pngMismatch(new Uint8Array([...whole, ...png(2, 2)]), { width: 8, height: 4 })).toMatch(
      /bytes after its IEND chunk/,
    );
    const padded = new Uint8Array([...whole, ...new Uint8Array(15_000).fill(65), ...whole.subarray(-12)]);
    expect(await pngMismatch(padded, { width: 8, height: 4 })).toMatch(/15012 bytes after its IEND chunk/);
    // A changed IHDR (the size rewritten without its CRC) is caught by the header's checksum.
    const forged = whole.slice();
    forged[19] = 16;
    expect(await pngMismatch(forged, { width: 16, height: 4 })).toMatch(/CRC/);
  });

  /** A PNG of the declared header over `raw` (the filtered scanlines, inflated). */
  const built = (
    width: number,
    height: number,
    bitDepth: number,
    colorType: number,
    interlace: number,
    raw: Uint8Array,
  ) => {
    const ihdr = new Uint8Array(13);
    const view = new DataView(ihdr.buffer);
    view.setUint32(0, width);
    view.setUint32(4, height);
    ihdr.set([bitDepth, colorType, 0, 0, interlace], 8);
    return Uint8Array.from([
      ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      ...pngChunk("IHDR", ihdr),
      ...pngChunk("IDAT", deflateSync(raw)),
      ...pngChunk("IEND", new Uint8Array(0)),
    ]);
  };

  it("refuses a header that claims a large picture over a few bytes of image data", async () => {
    const forged = built(512, 512, 8, 2, 0, new Uint8Array(16));
    expect(await pngMismatch(forged, { width: 512, height: 512 })).toMatch(/too short for its declared size/);
    // One row of data more than the size allows is not that picture either.
    const long = built(4, 2, 8, 2, 0, new Uint8Array(3 * (1 + 12)));
    expect(await pngMismatch(long, { width: 4, height: 2 })).toMatch(/more than its declared size/);
    // A small stream that inflates to 64 MiB under a 16×16 header: counted only until it passes.
    const bomb = built(16, 16, 8, 0, 0, new Uint8Array(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    expect(await pngMismatch(bomb, { width: 16, height: 16 })).toMatch(/more than its declared size/);
    // Image data that is not zlib at all, under valid CRCs.
    const garbled = Uint8Array.from([
      ...forged.subarray(0, 33),
      ...pngChunk("IDAT", Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)),
      ...pngChunk("IEND", new Uint8Array(0)),
    ]);
    expect(await pngMismatch(garbled, { width: 512, height: 512 })).toMatch(/does not inflate/);
    // A chunk whose bytes were changed after its CRC was computed.
    const whole = png(8, 4);
    const flipped = whole.slice();
    flipped[45] = flipped[45]! ^ 1;
    expect(await pngMismatch(flipped, { width: 8, height: 4 })).toMatch(/CRC|corrupt/);
  });

  it("takes the standard chunks only, a bounded amount of them, and image data that ends with its zlib stream", async () => {
    const raw = new Uint8Array(4 * (1 + 3 * 8));
    const withChunks = (...extra: Uint8Array[]) => {
      const whole = built(8, 4, 8, 2, 0, raw);
      return Uint8Array.from([
        ...whole.subarray(0, 33),
        ...extra.flatMap((c) => [...c]),
        ...whole.subarray(33),
      ]);
    };
    const text = (bytes: number) => pngChunk("tEXt", new Uint8Array(bytes).fill(0x61));
    // An engine's generation parameters in a text chunk pass.
    expect(await pngMismatch(withChunks(text(2_000)), { width: 8, height: 4 })).toBeUndefined();
    expect(
      await pngMismatch(withChunks(pngChunk("smUG", new Uint8Array(16))), { width: 8, height: 4 }),
    ).toMatch(/"smUG" chunk, which is not a standard one/);
    expect(await pngMismatch(withChunks(text(200_000), text(100_000)), { width: 8, height: 4 })).toMatch(
      /300000 bytes of ancillary chunks/,
    );
    // Bytes after the zlib stream's end, inside IDAT: never inflated, so never looked at.
    const tail = Uint8Array.from([...deflateSync(raw), ...new TextEncoder().encode("<script>")]);
    const smuggled = Uint8Array.from([
      ...built(8, 4, 8, 2, 0, raw).subarray(0, 33),
      ...pngChunk("IDAT", tail),
      ...pngChunk("IEND", new Uint8Array(0)),
    ]);
    expect(await pngMismatch(smuggled, { width: 8, height: 4 })).toMatch(/8 bytes after its zlib stream/);
  });

  it("accepts whole images in the formats engines may write: 16-bit, grey, interlaced", async () => {
    // 16-bit grey, 3×2: two scanlines of a filter byte and 3 × 2 bytes.
    expect(
      await pngMismatch(built(3, 2, 16, 0, 0, new Uint8Array(2 * 7)), { width: 3, height: 2 }),
    ).toBeUndefined();
    // 8-bit RGB 10×10, Adam7: the seven passes' scanlines.
    const passes = [
      [2, 2],
      [1, 2],
      [3, 1],
      [2, 3],
      [5, 2],
      [5, 5],
      [10, 5],
    ];
    const raw = passes.reduce((sum, [w, h]) => sum + h! * (1 + 3 * w!), 0);
    expect(
      await pngMismatch(built(10, 10, 8, 2, 1, new Uint8Array(raw)), { width: 10, height: 10 }),
    ).toBeUndefined();
    expect(
      await pngMismatch(built(10, 10, 8, 2, 1, new Uint8Array(raw - 1)), { width: 10, height: 10 }),
    ).toMatch(/too short/);
    // A bit depth its colour type does not allow.
    expect(await pngMismatch(built(3, 2, 4, 2, 0, new Uint8Array(2 * 3)), { width: 3, height: 2 })).toMatch(
      /bit depth 4/,
    );
  });

  it("takes a list of base64 images only in canonical base64, naming the first that fails", async () => {
    const b64 = Buffer.from(png(8, 4)).toString("base64");
    const size = { width: 8, height: 4 };
    expect(await base64PngsMismatch([b64, b64], size)).toBeUndefined();
    // Text the decoder skips, or data after the padding, would reach the client unchecked.
    expect(await base64PngsMismatch([b64, `${b64}<script>`], size)).toBe("image 1 is not canonical base64");
    expect(await base64PngsMismatch([`${b64.slice(0, 8)}!!${b64.slice(8)}`], size)).toBe(
      "image 0 is not canonical base64",
    );
    expect(await base64PngsMismatch([b64, 42], size)).toBe("image 1 has no b64_json");
    expect(await base64PngsMismatch([Buffer.from(png(4, 8)).toString("base64")], size)).toBe(
      "image 0 is 4x8, not the 8x4 asked for",
    );
  });
});
