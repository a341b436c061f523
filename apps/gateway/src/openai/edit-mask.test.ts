import { crc32 } from "node:zlib";
import { decodePng, encodePng, PngError } from "@pocket-ai/png";
import { countTurns } from "@pocket-ai/png/testing";
import { describe, expect, it } from "vitest";
import { MAX_MASK_PIXELS, normaliseEditMask } from "./edit-mask.js";

/** A 4×2 RGBA image: left half transparent, right half opaque. */
function halfTransparent() {
  const data = new Uint8Array(4 * 2 * 4);
  for (let i = 0; i < 8; i++) data.set([10, 20, 30, i % 4 < 2 ? 0 : 255], i * 4);
  return encodePng({ width: 4, height: 2, data });
}

describe("normaliseEditMask", () => {
  it("turns OpenAI's transparent = edit into opaque white = repaint", async () => {
    const out = decodePng(await normaliseEditMask(halfTransparent()));
    const grey = Array.from({ length: 8 }, (_, i) => out.data[i * 4]!);
    expect(grey).toEqual([255, 255, 0, 0, 255, 255, 0, 0]);
    expect(Array.from({ length: 8 }, (_, i) => out.data[i * 4 + 3])).toEqual(new Array(8).fill(255));
  });

  it("keeps an opaque mask's meaning: white (luminance > 127) repaints", async () => {
    const rgb = [255, 255, 255, 200, 200, 200, 100, 100, 100, 0, 0, 0];
    const data = Uint8Array.from({ length: 16 }, (_, i) =>
      i % 4 === 3 ? 255 : rgb[(i >> 2) * 3 + (i % 4)]!,
    );
    const out = decodePng(
      await normaliseEditMask(encodePng({ width: 4, height: 1, data }, { colorType: 2 })),
    );
    expect(Array.from({ length: 4 }, (_, i) => out.data[i * 4])).toEqual([255, 255, 0, 0]);
  });

  it("writes an 8-bit gray PNG", async () => {
    const png = await normaliseEditMask(halfTransparent());
    expect([png[24], png[25]]).toEqual([8, 0]);
  });

  it("refuses a mask larger than the gateway reads, and what is not a PNG, with a PngError", async () => {
    const side = Math.ceil(Math.sqrt(MAX_MASK_PIXELS)) + 1;
    const big = encodePng({ width: side, height: 1, data: new Uint8Array(side * 4) });
    // Declare side × side in the header (the CRC is not the point here, so fix it up).
    const header = Buffer.from(big);
    header.writeUInt32BE(side, 20);
    header.writeUInt32BE(crc32(header.subarray(12, 29)), 29);
    await expect(normaliseEditMask(header)).rejects.toThrow(expect.objectContaining({ reason: "too-large" }));
    await expect(normaliseEditMask(Buffer.from("not a png at all, definitely not"))).rejects.toThrow(
      PngError,
    );
  });

  it("lets the event loop turn while it converts a large mask, and gives the same mask for it", async () => {
    const side = 1024;
    const data = new Uint8Array(side * side * 4);
    for (let i = 0; i < side * side; i++) data.set([200, 200, 200, i % 3 === 0 ? 0 : 255], i * 4);
    const png = encodePng({ width: side, height: side, data }, { filter: 4 });
    const turns = countTurns();
    const out = decodePng(await normaliseEditMask(png));
    turns.stop();
    // 4 MiB of RGBA is unfiltered, converted and copied in slices of 256 KiB: other work ran between them.
    expect(turns.count()).toBeGreaterThanOrEqual(16);
    expect(out.data[0]).toBe(255);
    expect(out.data[4]).toBe(0);
    expect(out.data[(side * side - 1) * 4]).toBe(255);
  });
});
