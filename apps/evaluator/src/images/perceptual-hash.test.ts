import { createDevImageEngine } from "@pocket-ai/node/fakes";
import type { RgbaImage } from "@pocket-ai/png";
import { decodePng, encodePng, resizeRgba } from "@pocket-ai/png";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REFERENCE_MAX_COLOUR, REFERENCE_MAX_LAYOUT } from "./image-thresholds.js";
import { colourDistance, differenceHash, hashDistance, layoutDistance } from "./perceptual-hash.js";

/** A smooth scene from a seed: a few soft blobs of light over a gradient (no library, no files). */
function scene(seed: number, width = 96, height = 64): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  const blobs = Array.from({ length: 4 }, (_, i) => ({
    x: ((seed * (i + 3) * 7919) % 97) / 97,
    y: ((seed * (i + 5) * 104729) % 89) / 89,
    r: 0.15 + (((seed + i) * 31) % 10) / 40,
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 40 + (120 * y) / height;
      for (const b of blobs)
        v += 100 * Math.exp(-((x / width - b.x) ** 2 + (y / height - b.y) ** 2) / (b.r * b.r));
      const p = (y * width + x) * 4;
      data.set([Math.min(255, v), Math.min(255, v * 0.8), Math.min(255, 255 - v / 2), 255], p);
    }
  }
  return { width, height, data };
}

describe("differenceHash", () => {
  it("gives 256 bits as 64 hex digits, all zero for a flat picture", () => {
    const flat = { width: 40, height: 40, data: new Uint8Array(40 * 40 * 4).fill(200) };
    expect(differenceHash(flat)).toBe("0".repeat(64));
    expect(differenceHash(scene(3))).toMatch(/^[0-9a-f]{64}$/);
  });

  it("barely moves when a picture is resized to another aspect or lightly noised", () => {
    const picture = scene(7);
    expect(hashDistance(differenceHash(picture), differenceHash(resizeRgba(picture, 64, 96)))).toBeLessThan(
      0.1,
    );
    const noisy = picture.data.map((v, i) =>
      i % 4 === 3 ? v : Math.max(0, Math.min(255, v + ((i * 7) % 11) - 5)),
    );
    expect(hashDistance(differenceHash(picture), differenceHash({ ...picture, data: noisy }))).toBeLessThan(
      0.1,
    );
  });

  it("puts different pictures far apart", () => {
    expect(hashDistance(differenceHash(scene(3)), differenceHash(scene(11)))).toBeGreaterThan(0.2);
  });
});

describe("hashDistance", () => {
  const hash = fc.stringMatching(/^[0-9a-f]{16}$/);
  it("is a normalised metric: 0 on itself, symmetric, within 0..1, triangle inequality", () => {
    fc.assert(
      fc.property(hash, hash, hash, (a, b, c) => {
        expect(hashDistance(a, a)).toBe(0);
        expect(hashDistance(a, b)).toBe(hashDistance(b, a));
        expect(hashDistance(a, b)).toBeGreaterThanOrEqual(0);
        expect(hashDistance(a, b)).toBeLessThanOrEqual(1);
        expect(hashDistance(a, c)).toBeLessThanOrEqual(hashDistance(a, b) + hashDistance(b, c) + 1e-12);
      }),
    );
  });

  it("counts differing bits and treats hashes of other lengths as unrelated", () => {
    expect(hashDistance("f0", "0f")).toBe(1);
    expect(hashDistance("80", "00")).toBe(1 / 8);
    expect(hashDistance("00", "0000")).toBe(1);
  });
});

/** Every colour channel moved by a fixed pseudo-random amount of up to ±`levels`. */
function noised(picture: RgbaImage, levels: number): RgbaImage {
  const data = picture.data.map((v, i) => {
    if (i % 4 === 3) return v;
    const h = Math.imul(i, 0x9e3779b1) >>> 0;
    return Math.max(0, Math.min(255, v + (h % (2 * levels + 1)) - levels));
  });
  return { ...picture, data };
}

describe("layoutDistance and colourDistance", () => {
  const engine = createDevImageEngine();
  const paint = async (seed: number, prompt = "a stone bridge beside a quiet canal, watercolour") =>
    decodePng((await engine.generate({ prompt, seed, steps: 24, width: 192, height: 128 })).images[0]!);

  it("put a picture and its re-encoded, resized or lightly noised copy at (about) 0", async () => {
    const picture = await paint(11);
    const copies = [
      decodePng(encodePng(picture)),
      resizeRgba(resizeRgba(picture, 144, 96), 192, 128),
      noised(picture, 20),
      resizeRgba(picture, 128, 128),
    ];
    expect(layoutDistance(picture, copies[0]!)).toBe(0);
    expect(colourDistance(picture, copies[0]!)).toBe(0);
    for (const copy of copies) {
      expect(layoutDistance(picture, copy)).toBeLessThan(REFERENCE_MAX_LAYOUT / 3);
      expect(colourDistance(picture, copy)).toBeLessThan(REFERENCE_MAX_COLOUR / 2);
    }
  });

  it("put the same prompt painted from another seed far apart", async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const [a, b] = [await paint(seed), await paint(seed + 1000)];
      expect(layoutDistance(a, b) > REFERENCE_MAX_LAYOUT || colourDistance(a, b) > REFERENCE_MAX_COLOUR).toBe(
        true,
      );
    }
    expect(layoutDistance(await paint(1), await paint(2))).toBeGreaterThan(REFERENCE_MAX_LAYOUT);
  });

  it("see a tint in the colours even when the layout is unchanged", async () => {
    const picture = await paint(5);
    const tinted = {
      ...picture,
      data: picture.data.map((v, i) => (i % 4 === 0 ? Math.min(255, v + 30) : v)),
    };
    expect(layoutDistance(picture, tinted)).toBeLessThan(REFERENCE_MAX_LAYOUT);
    expect(colourDistance(picture, tinted)).toBeGreaterThan(REFERENCE_MAX_COLOUR);
  });

  it("treat two flat pictures as one layout, a flat and a varied one as unrelated", () => {
    const flat = (v: number) => ({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 4).fill(v) });
    expect(layoutDistance(flat(40), flat(200))).toBe(0);
    expect(layoutDistance(flat(40), scene(3))).toBe(1);
    expect(colourDistance(flat(0), flat(255))).toBe(1);
  });

  it("are symmetric and stay within 0..1", () => {
    const a = scene(3);
    const b = scene(11);
    expect(layoutDistance(a, b)).toBeCloseTo(layoutDistance(b, a), 12);
    expect(colourDistance(a, b)).toBeCloseTo(colourDistance(b, a), 12);
    for (const d of [layoutDistance(a, b), colourDistance(a, b)]) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1);
    }
  });
});
