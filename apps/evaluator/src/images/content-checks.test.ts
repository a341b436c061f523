import { createDevImageEngine } from "@pocket-ai/node/fakes";
import { decodePng, type RgbaImage } from "@pocket-ai/png";
import { describe, expect, it } from "vitest";
import { createRng } from "../runs/rng.js";
import {
  dominantHue,
  inpaintKeeps,
  meanDifference,
  outpaintKeeps,
  PROBE_COLOURS,
  type ProbeColour,
  showsColour,
  strengthMonotonic,
} from "./content-checks.js";
import { sourcePicture } from "./content-probe.js";

const flat = (width: number, height: number, rgb: readonly [number, number, number]): RgbaImage => {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < data.length; p += 4) data.set([...rgb, 255], p);
  return { width, height, data };
};
const copy = (image: RgbaImage): RgbaImage => ({ ...image, data: new Uint8Array(image.data) });
const paint = (image: RgbaImage, rect: { x0: number; y0: number; x1: number; y1: number }, v: number) => {
  for (let y = rect.y0; y < rect.y1; y++)
    for (let x = rect.x0; x < rect.x1; x++) image.data.set([v, 255 - v, v], (y * image.width + x) * 4);
};

describe("the colour check", () => {
  it("reads the hue of saturated pixels and ignores grey ones", () => {
    expect(dominantHue(flat(8, 8, [220, 30, 30])).hue).toBeCloseTo(0, 0);
    expect(dominantHue(flat(8, 8, [30, 30, 220])).hue).toBeCloseTo(240, 0);
    expect(dominantHue(flat(8, 8, [128, 128, 128]))).toEqual({
      hue: null,
      saturatedShare: 0,
      concentration: 0,
    });
    expect(dominantHue(flat(8, 8, [220, 30, 30])).concentration).toBeCloseTo(1, 5);
    expect(showsColour(flat(8, 8, [128, 128, 128]), "red")).toBe(false);
  });

  it("fails pixel noise, whose hues go all round the circle", () => {
    const noise = flat(64, 64, [0, 0, 0]);
    const rng = createRng(11);
    for (let p = 0; p < noise.data.length; p += 4)
      noise.data.set([rng.int(256), rng.int(256), rng.int(256)], p);
    expect(dominantHue(noise).concentration).toBeLessThan(0.2);
    for (const colour of Object.keys(PROBE_COLOURS) as ProbeColour[])
      expect(showsColour(noise, colour)).toBe(false);
  });

  it("passes the development engine's pictures of every named colour and fails the others", async () => {
    const engine = createDevImageEngine();
    const colours = Object.keys(PROBE_COLOURS) as ProbeColour[];
    for (const colour of colours) {
      for (let seed = 1; seed <= 8; seed++) {
        const result = await engine.generate({
          prompt: `a plain ${colour} background`,
          width: 48,
          height: 48,
          seed,
        });
        const image = decodePng(result.images[0]!);
        expect(showsColour(image, colour), `${colour} seed ${seed}`).toBe(true);
        for (const other of colours.filter((c) => c !== colour))
          expect(showsColour(image, other)).toBe(false);
      }
    }
  });
});

describe("edit checks", () => {
  const source = sourcePicture(createRng(7), 64, 48);

  it("wants the distance from the source to grow with the strength", () => {
    expect(strengthMonotonic([5, 20, 40])).toBe(true);
    expect(strengthMonotonic([5, 4, 40])).toBe(true); // within the tolerance
    expect(strengthMonotonic([30, 30, 31])).toBe(false); // the source or strength ignored
    expect(strengthMonotonic([40, 20, 5])).toBe(false);
    expect(strengthMonotonic([5, null, 40])).toBe(false);
  });

  it("inpainting must keep the pixels outside the mask and repaint inside it", () => {
    const mask = { x0: 20, y0: 12, x1: 44, y1: 36 };
    const good = copy(source);
    paint(good, mask, 200);
    expect(inpaintKeeps(source, good, mask, 4)).toBe(true);
    // Repainting everything, or nothing, fails.
    const all = copy(source);
    paint(all, { x0: 0, y0: 0, x1: 64, y1: 48 }, 200);
    expect(inpaintKeeps(source, all, mask, 4)).toBe(false);
    expect(inpaintKeeps(source, copy(source), mask, 4)).toBe(false);
    // A different size cannot be compared: failed.
    expect(inpaintKeeps(source, flat(32, 32, [0, 0, 0]), mask, 4)).toBe(false);
  });

  it("outpainting must keep the source where the padding put it and paint a border", () => {
    const at = { x0: 16, y0: 0, x1: 80, y1: 48 };
    const canvas = { width: 96, height: 48 };
    const result = flat(96, 48, [0, 0, 0]);
    for (let p = 0; p < result.data.length; p += 4)
      result.data.set([(p * 7) % 256, (p * 13) % 256, (p * 3) % 256], p);
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 64; x++)
        result.data.set(source.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 4), (y * 96 + x + 16) * 4);
    expect(outpaintKeeps(source, result, canvas, at, 4)).toBe(true);
    // The source scaled over the whole canvas (not outpainted), a flat border, or the wrong size fail.
    expect(outpaintKeeps(source, sourcePicture(createRng(5), 96, 48), canvas, at, 4)).toBe(false);
    const flatBorder = flat(96, 48, [10, 10, 10]);
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 64; x++)
        flatBorder.data.set(
          source.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 4),
          (y * 96 + x + 16) * 4,
        );
    expect(outpaintKeeps(source, flatBorder, canvas, at, 4)).toBe(false);
    expect(outpaintKeeps(source, source, canvas, at, 4)).toBe(false);
  });

  it("measures differences only where asked", () => {
    const other = copy(source);
    paint(other, { x0: 0, y0: 0, x1: 8, y1: 8 }, 0);
    expect(meanDifference(source, source)).toBe(0);
    expect(meanDifference(source, other, (x, y) => x >= 8 || y >= 8)).toBe(0);
    expect(meanDifference(source, other)!).toBeGreaterThan(0);
  });
});
