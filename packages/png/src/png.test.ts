import * as zlib from "node:zlib";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { crc32 } from "./crc32.js";
import {
  decodePng,
  decodePngAsync,
  encodeGrayPngAsync,
  encodePng,
  encodePngAsync,
  type PngEncodeColorType,
  type PngEncodeOptions,
  PngError,
  type PngFilter,
  pngChunk,
  readPngHeader,
} from "./png.js";
import { countTurns } from "./testing.js";

// The real zlib, observed: the bomb tests check what the decoder asks `inflateSync` for.
vi.mock("node:zlib", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:zlib")>();
  return { ...real, inflateSync: vi.fn(real.inflateSync) };
});
const inflateSpy = vi.mocked(zlib.inflateSync);
afterEach(() => inflateSpy.mockClear());

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** A PNG built by hand: any IHDR fields, any raw (already filtered) scanlines, extra chunks before IDAT. */
function handMade(options: {
  width: number;
  height: number;
  colorType: number;
  depth?: number;
  raw?: Uint8Array;
  idat?: Uint8Array;
  before?: Uint8Array[];
}): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, options.width);
  view.setUint32(4, options.height);
  ihdr.set([options.depth ?? 8, options.colorType, 0, 0, 0], 8);
  return Buffer.concat([
    SIGNATURE,
    pngChunk("IHDR", ihdr),
    ...(options.before ?? []),
    pngChunk("IDAT", options.idat ?? zlib.deflateSync(options.raw ?? new Uint8Array(0))),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

const image = (colorType: PngEncodeColorType) =>
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

  it("undoes every row filter as the PNG specification defines it, by hand", () => {
    // One gray 3×5 image, rows filtered with None, Sub, Up, Average, Paeth.
    const rows = [
      [0, 10, 20, 30],
      [1, 5, 5, 5], // Sub: 5, 10, 15
      [2, 1, 1, 1], // Up: 6, 11, 16
      [3, 4, 4, 4], // Average(left, up): 4+3=7, 4+(7+11)/2=13, 4+(13+16)/2=18
      [4, 1, 1, 1], // Paeth
    ];
    const img = decodePng(handMade({ width: 3, height: 5, colorType: 0, raw: Uint8Array.from(rows.flat()) }));
    const gray = Array.from({ length: 15 }, (_, i) => img.data[i * 4]!);
    expect(gray).toEqual([10, 20, 30, 5, 10, 15, 6, 11, 16, 7, 13, 18, 8, 14, 19]);
  });

  it("decodes palette images, with tRNS alpha where given and opaque past its end", () => {
    const plte = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255);
    const trns = Uint8Array.of(0, 128);
    const raw = Uint8Array.of(0, 0, 1, 2);
    const img = decodePng(
      handMade({
        width: 3,
        height: 1,
        colorType: 3,
        raw,
        before: [pngChunk("PLTE", plte), pngChunk("tRNS", trns)],
      }),
    );
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255]);

    const outOfRange = handMade({
      width: 1,
      height: 1,
      colorType: 3,
      raw: Uint8Array.of(0, 7),
      before: [pngChunk("PLTE", plte)],
    });
    expect(() => decodePng(outOfRange)).toThrow(/palette index 7 is outside its 3-entry palette/);
    expect(() =>
      decodePng(handMade({ width: 1, height: 1, colorType: 3, raw: Uint8Array.of(0, 0) })),
    ).toThrow(/without a PLTE/);
  });

  it("reads the header without inflating anything, from the first 33 bytes alone", () => {
    const png = encodePng({ width: 7, height: 3, data: new Uint8Array(84) }, { colorType: 2 });
    expect(readPngHeader(png.subarray(0, 33))).toEqual({
      width: 7,
      height: 3,
      bitDepth: 8,
      colorType: 2,
      interlaced: false,
    });
    expect(inflateSpy).not.toHaveBeenCalled();
    expect(() => readPngHeader(png.subarray(0, 20))).toThrow(
      expect.objectContaining({ reason: "truncated" }),
    );
  });

  it("rejects damaged or unsupported files with a typed reason", () => {
    const png = encodePng({ width: 2, height: 2, data: new Uint8Array(16).fill(9) });
    const reason = (bytes: Uint8Array) => {
      try {
        decodePng(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(PngError);
        return (error as PngError).reason;
      }
      throw new Error("decoded a file it should refuse");
    };
    expect(reason(png.subarray(0, 40))).toBe("truncated");
    const flipped = png.slice();
    flipped[40] = flipped[40]! ^ 0xff;
    expect(reason(flipped)).toBe("checksum");
    expect(reason(new TextEncoder().encode("GIF89a"))).toBe("not-png");
    expect(() => decodePng(new TextEncoder().encode("GIF89a"))).toThrow(/not a PNG/);
    const sixteenBit = handMade({
      width: 1,
      height: 1,
      colorType: 0,
      depth: 16,
      raw: Uint8Array.of(0, 0, 0),
    });
    expect(reason(sixteenBit)).toBe("unsupported");
    expect(() => decodePng(sixteenBit)).toThrow(/bit depth 16.*only 8-bit/);
    expect(reason(handMade({ width: 2, height: 1, colorType: 0, raw: Uint8Array.of(9, 1, 2) }))).toBe(
      "corrupt",
    );
    expect(reason(handMade({ width: 2, height: 2, colorType: 0, raw: Uint8Array.of(0, 1, 2) }))).toBe(
      "corrupt",
    );
    expect(reason(handMade({ width: 1, height: 1, colorType: 0, idat: Uint8Array.of(1, 2, 3) }))).toBe(
      "corrupt",
    );
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(15) })).toThrow(
      expect.objectContaining({ reason: "invalid-input" }),
    );
  });
});

describe("png decompression limits", () => {
  it("refuses a small file declaring a huge size before inflating anything", () => {
    // 100 000 × 100 000 pixels would be 40 GB of RGBA; the file itself is under 100 bytes.
    const huge = handMade({ width: 100_000, height: 100_000, colorType: 6, raw: new Uint8Array(8) });
    expect(huge.length).toBeLessThan(100);
    expect(() => decodePng(huge, { maxPixels: 4096 * 4096 })).toThrow(
      expect.objectContaining({ reason: "too-large", message: expect.stringMatching(/100000×100000/) }),
    );
    // Without a caller budget the default one applies, and still nothing is inflated.
    expect(() => decodePng(huge)).toThrow(expect.objectContaining({ reason: "too-large" }));
    expect(inflateSpy).not.toHaveBeenCalled();
  });

  it("applies the caller's pixel budget exactly", () => {
    const png = encodePng({ width: 10, height: 10, data: new Uint8Array(400) });
    expect(decodePng(png, { maxPixels: 100 }).width).toBe(10);
    expect(() => decodePng(png, { maxPixels: 99 })).toThrow(expect.objectContaining({ reason: "too-large" }));
  });

  it("refuses a zlib bomb: inflation stops at the size the header allows", () => {
    // A 16×16 gray image needs (16 + 1) × 16 = 272 bytes; this stream inflates to 16 MiB of zeros.
    const bomb = handMade({
      width: 16,
      height: 16,
      colorType: 0,
      idat: zlib.deflateSync(new Uint8Array(1 << 24)),
    });
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(() => decodePng(bomb)).toThrow(
      expect.objectContaining({ reason: "too-large", message: expect.stringMatching(/inflates to more/) }),
    );
    expect(inflateSpy).toHaveBeenCalledTimes(1);
    expect(inflateSpy.mock.calls[0]![1]).toEqual({ maxOutputLength: 272 });
  });
});

describe("the async codec", () => {
  /** What decoding gives: the image, or the refusal's reason. */
  const outcome = (decode: () => unknown) => {
    try {
      return { image: decode() };
    } catch (error) {
      return { refused: (error as PngError).reason };
    }
  };
  const outcomeAsync = async (decode: () => Promise<unknown>) => {
    try {
      return { image: await decode() };
    } catch (error) {
      return { refused: (error as PngError).reason };
    }
  };

  it("decodes every colour type and filter as decodePng does, and refuses what it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom<PngEncodeColorType>(0, 2, 4, 6)
          .chain((colorType) => image(colorType).map((img) => ({ img, colorType }))),
        fc.constantFrom<PngFilter | undefined>(undefined, 0, 1, 2, 3, 4),
        async ({ img, colorType }, filter) => {
          const png = encodePng(img, { colorType, ...(filter === undefined ? {} : { filter }) });
          expect(await decodePngAsync(png)).toEqual(decodePng(png));
        },
      ),
      { numRuns: 60 },
    );
    const palette = handMade({
      width: 2,
      height: 1,
      colorType: 3,
      raw: Uint8Array.of(0, 0, 1),
      before: [pngChunk("PLTE", Uint8Array.of(1, 2, 3, 4, 5, 6)), pngChunk("tRNS", Uint8Array.of(7))],
    });
    const outside = handMade({
      width: 2,
      height: 1,
      colorType: 3,
      raw: Uint8Array.of(0, 0, 5),
      before: [pngChunk("PLTE", Uint8Array.of(1, 2, 3))],
    });
    const bomb = handMade({
      width: 16,
      height: 16,
      colorType: 0,
      idat: zlib.deflateSync(new Uint8Array(1 << 20)),
    });
    const files = [
      palette,
      outside,
      bomb,
      handMade({ width: 2, height: 1, colorType: 0, raw: Uint8Array.of(9, 1, 2) }),
      handMade({ width: 2, height: 2, colorType: 0, raw: Uint8Array.of(0, 1, 2) }),
      handMade({ width: 1, height: 1, colorType: 0, idat: Uint8Array.of(1, 2, 3) }),
      handMade({ width: 100_000, height: 100_000, colorType: 6, raw: new Uint8Array(8) }),
      new TextEncoder().encode("GIF89a"),
    ];
    for (const file of files)
      expect(await outcomeAsync(() => decodePngAsync(file, { maxPixels: 4096 * 4096 }))).toEqual(
        outcome(() => decodePng(file, { maxPixels: 4096 * 4096 })),
      );
  });

  it("lets the event loop turn between slices of a large image", async () => {
    const side = 1024;
    const png = encodePng(
      { width: side, height: side, data: new Uint8Array(side * side * 4).fill(77) },
      { filter: 4 },
    );
    const turns = countTurns();
    const decoded = await decodePngAsync(png);
    turns.stop();
    // 4 MiB of RGBA in slices of 256 KiB: sixteen of them, a turn between each two (a decoder that
    // unfilters in one go gives none; turns spent waiting on zlib's thread pool are not counted).
    expect(turns.count()).toBeGreaterThanOrEqual(15);
    expect(decoded.data.every((b) => b === 77)).toBe(true);
  });

  it("encodes the same bytes as encodePng, for every colour type and filter", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom<PngEncodeColorType>(0, 2, 4, 6)
          .chain((colorType) => image(colorType).map((img) => ({ img, colorType }))),
        fc.constantFrom<PngFilter | undefined>(undefined, 0, 1, 2, 3, 4),
        async ({ img, colorType }, filter) => {
          const options = { colorType, ...(filter === undefined ? {} : { filter }) };
          expect(await encodePngAsync(img, options)).toEqual(encodePng(img, options));
        },
      ),
      { numRuns: 60 },
    );
    await expect(encodePngAsync({ width: 2, height: 2, data: new Uint8Array(15) })).rejects.toThrow(
      expect.objectContaining({ reason: "invalid-input" }),
    );
  });

  it("lets the event loop turn between slices while it encodes a large image, each slice no more work than a decoder's", async () => {
    const side = 1024;
    const image = {
      width: side,
      height: side,
      data: Uint8Array.from({ length: side * side * 4 }, (_, i) => (i * 7) % 251),
    };
    const turnsOf = async (options: PngEncodeOptions) => {
      const turns = countTurns();
      const png = await encodePngAsync(image, options);
      turns.stop();
      expect(png).toEqual(encodePng(image, options));
      return turns.count();
    };
    // A fixed filter is one pass over each 4096-byte row, as unfiltering it is: 64 rows a slice
    // of 256 KiB, sixteen slices, each followed by a turn.
    expect(await turnsOf({ filter: 4 })).toBeGreaterThanOrEqual(16);
    // Choosing each row's filter applies and scores five candidates, then applies the best: eleven
    // passes, so 5 rows a slice and 205 slices (an encoder slicing by bytes alone gives sixteen).
    expect(await turnsOf({})).toBeGreaterThanOrEqual(205);
    // Gray: each row's 4096 bytes of RGBA picked down to 1024 samples, then chosen among five
    // filters (11 × 1024): 17 rows a slice, 61 slices, the picking sliced with them.
    expect(await turnsOf({ colorType: 0 })).toBeGreaterThanOrEqual(61);
  });

  it("writes an 8-bit gray PNG that decodes to the same values", async () => {
    const gray = Uint8Array.from({ length: 7 * 3 }, (_, i) => (i * 37) % 256);
    const png = await encodeGrayPngAsync(7, 3, gray);
    expect(readPngHeader(png)).toMatchObject({ width: 7, height: 3, bitDepth: 8, colorType: 0 });
    const { data } = decodePng(png);
    expect(Array.from({ length: 21 }, (_, i) => data[i * 4])).toEqual(Array.from(gray));
    await expect(encodeGrayPngAsync(7, 3, new Uint8Array(20))).rejects.toThrow(
      expect.objectContaining({ reason: "invalid-input" }),
    );
  });
});
