import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";
import { describe, expect, it } from "vitest";
import { createDevImageEngine } from "./image-engine.js";
import { DevBackendRequestError } from "./request-error.js";
import type { Sleep } from "./sleep.js";

const engine = createDevImageEngine();
const first = async (result: Promise<{ images: Uint8Array[] }>): Promise<Uint8Array> =>
  (await result).images[0]!;

function luminance(img: RgbaImage): number[] {
  const out: number[] = [];
  for (let p = 0; p < img.data.length; p += 4) {
    out.push(0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]!);
  }
  return out;
}

function stdDev(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

/** Average hash: 8×8 block means of luminance, one bit per block above the overall mean. */
function averageHash(img: RgbaImage): boolean[] {
  const lum = luminance(img);
  const blocks: number[] = [];
  for (let by = 0; by < 8; by++) {
    for (let bx = 0; bx < 8; bx++) {
      let sum = 0;
      let n = 0;
      for (let y = Math.floor((by * img.height) / 8); y < Math.floor(((by + 1) * img.height) / 8); y++) {
        for (let x = Math.floor((bx * img.width) / 8); x < Math.floor(((bx + 1) * img.width) / 8); x++) {
          sum += lum[y * img.width + x]!;
          n++;
        }
      }
      blocks.push(sum / n);
    }
  }
  const mean = blocks.reduce((a, b) => a + b, 0) / blocks.length;
  return blocks.map((b) => b > mean);
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);
const hamming = (a: boolean[], b: boolean[]): number => a.filter((bit, i) => bit !== b[i]).length;
const pixel = (img: RgbaImage, x: number, y: number): number[] => [
  ...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4),
];

describe("dev image engine", () => {
  it("generates identical bytes for the same prompt, seed and steps", async () => {
    const request = { prompt: "a lighthouse at sunset", width: 64, height: 48, seed: 9, steps: 20 };
    const a = await engine.generate(request);
    const b = await engine.generate(request);
    expect(a).toMatchObject({ width: 64, height: 48, seeds: [9] });
    expect(sameBytes(a.images[0]!, b.images[0]!)).toBe(true);
    const img = decodePng(a.images[0]!);
    expect([img.width, img.height]).toEqual([64, 48]);
  });

  it("never paints a blank image", async () => {
    for (const prompt of ["", "white snow", "black night", "a cat"]) {
      const img = decodePng(
        await first(engine.generate({ prompt, width: 64, height: 64, seed: 1, steps: 1 })),
      );
      expect(stdDev(luminance(img))).toBeGreaterThan(8);
    }
  });

  it("paints clearly different pictures for different prompts", async () => {
    const prompts = [
      "a red barn",
      "the ocean at night",
      "a forest path",
      "a bowl of fruit",
      "a city skyline",
    ];
    const hashes = await Promise.all(
      prompts.map(async (prompt) =>
        averageHash(decodePng(await first(engine.generate({ prompt, width: 64, height: 64, seed: 1 })))),
      ),
    );
    for (let i = 0; i < hashes.length; i++) {
      for (let j = i + 1; j < hashes.length; j++) expect(hamming(hashes[i]!, hashes[j]!)).toBeGreaterThan(10);
    }
  });

  it("changes with the seed and numbers a batch seed, seed + 1, …", async () => {
    const result = await engine.generate({ prompt: "a cat", width: 32, height: 32, seed: 100, n: 3 });
    expect(result.seeds).toEqual([100, 101, 102]);
    expect(new Set(result.images.map((png) => Buffer.from(png).toString("hex"))).size).toBe(3);
    const again = await first(engine.generate({ prompt: "a cat", width: 32, height: 32, seed: 101 }));
    expect(sameBytes(again, result.images[1]!)).toBe(true);
  });

  it("adds detail with more steps on top of the same layout", async () => {
    const at = async (steps: number) =>
      decodePng(await first(engine.generate({ prompt: "mountains", width: 64, height: 64, seed: 3, steps })));
    const [few, many] = [await at(2), await at(50)];
    expect(sameBytes(few.data, many.data)).toBe(false);
    expect(hamming(averageHash(few), averageHash(many))).toBeLessThan(20);
  });

  it("keeps unmasked pixels byte-identical when inpainting", async () => {
    const image = await first(engine.generate({ prompt: "a garden", width: 48, height: 32, seed: 4 }));
    const init = decodePng(image);
    const maskData = new Uint8Array(48 * 32 * 4);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 48; x++) {
        const white = x >= 10 && x < 30 && y >= 8 && y < 20 ? 255 : 0;
        maskData.set([white, white, white, 255], (y * 48 + x) * 4);
      }
    }
    const mask = encodePng({ width: 48, height: 32, data: maskData });
    const out = decodePng(
      await first(engine.edit({ image, mask, prompt: "a red flower", seed: 5, strength: 0.9 })),
    );
    let changed = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 48; x++) {
        const inside = x >= 10 && x < 30 && y >= 8 && y < 20;
        if (!inside) expect(pixel(out, x, y)).toEqual(pixel(init, x, y));
        else if (pixel(out, x, y).join() !== pixel(init, x, y).join()) changed++;
      }
    }
    expect(changed).toBeGreaterThan(200);
  });

  it("reads a mask by alpha when it has transparency", async () => {
    const image = await first(engine.generate({ prompt: "sky", width: 16, height: 16, seed: 1 }));
    const maskData = new Uint8Array(16 * 16 * 4);
    maskData.set([255, 255, 255, 255], 0); // only the top-left pixel is painted
    const mask = encodePng({ width: 16, height: 16, data: maskData });
    const out = decodePng(await first(engine.edit({ image, mask, prompt: "fire", seed: 2, strength: 1 })));
    const init = decodePng(image);
    expect(pixel(out, 0, 0)).not.toEqual(pixel(init, 0, 0));
    expect(sameBytes(out.data.subarray(4), init.data.subarray(4))).toBe(true);
  });

  it("outpaints only the new border", async () => {
    const image = await first(engine.generate({ prompt: "a harbor", width: 40, height: 30, seed: 6 }));
    const init = decodePng(image);
    const padding = { top: 8, right: 16, bottom: 4, left: 12 };
    const result = await engine.edit({ image, prompt: "a harbor", seed: 6, padding });
    expect([result.width, result.height]).toEqual([68, 42]);
    const out = decodePng(result.images[0]!);
    for (let y = 0; y < 30; y++) {
      for (let x = 0; x < 40; x++) expect(pixel(out, x + 12, y + 8)).toEqual(pixel(init, x, y));
    }
    const border = [pixel(out, 0, 0), pixel(out, 67, 41), pixel(out, 60, 20), pixel(out, 30, 2)];
    expect(new Set(border.map((p) => p.join())).size).toBeGreaterThan(1);
    expect(border.every((p) => p[3] === 255)).toBe(true);
  });

  it("blends the whole image toward the prompt by strength (img2img)", async () => {
    const image = await first(engine.generate({ prompt: "a desert", width: 32, height: 32, seed: 7 }));
    const edit = async (strength: number) =>
      decodePng(await first(engine.edit({ image, prompt: "a blue ocean", seed: 8, strength })));
    const init = decodePng(image);
    const distance = (img: RgbaImage) => img.data.reduce((sum, v, i) => sum + Math.abs(v - init.data[i]!), 0);
    expect(distance(await edit(0))).toBe(0);
    const [weak, strong] = [distance(await edit(0.3)), distance(await edit(0.9))];
    expect(weak).toBeGreaterThan(0);
    expect(strong).toBeGreaterThan(weak * 2);
  });

  it("degrades with quality: low quality adds grain", async () => {
    const render = async (quality: number) =>
      decodePng(
        await first(
          createDevImageEngine({ quality }).generate({ prompt: "calm lake", width: 64, height: 64, seed: 2 }),
        ),
      );
    // Grain shows up as differences between horizontally neighbouring pixels.
    const roughness = (img: RgbaImage) => {
      const lum = luminance(img);
      let sum = 0;
      for (let i = 1; i < lum.length; i++) sum += Math.abs(lum[i]! - lum[i - 1]!);
      return sum / lum.length;
    };
    expect(roughness(await render(0.1))).toBeGreaterThan(roughness(await render(1)) * 1.5);
  });

  it("waits msPerStep per step and image, and stops when aborted", async () => {
    const waits: number[] = [];
    const fakeSleep: Sleep = async (ms) => {
      waits.push(ms);
    };
    const slow = createDevImageEngine({ msPerStep: 5, sleep: fakeSleep });
    await slow.generate({ prompt: "x", width: 8, height: 8, steps: 30, n: 2, seed: 1 });
    expect(waits).toEqual([150, 150]);
    // Aborted during the first image's wait: the engine stops there and renders nothing more.
    const controller = new AbortController();
    const abortWaits: number[] = [];
    const abortingSleep: Sleep = async (ms, signal) => {
      abortWaits.push(ms);
      controller.abort();
      signal?.throwIfAborted();
    };
    const aborted = createDevImageEngine({ msPerStep: 50, sleep: abortingSleep });
    await expect(
      aborted.generate({ prompt: "x", width: 8, height: 8, steps: 100, n: 3 }, controller.signal),
    ).rejects.toThrow();
    expect(abortWaits).toEqual([5_000]);
  });

  it("refuses invalid requests with a request error", async () => {
    await expect(engine.generate({ prompt: "x", width: 4, height: 64 })).rejects.toThrow(
      DevBackendRequestError,
    );
    await expect(engine.edit({ image: new Uint8Array([1, 2, 3]), prompt: "x" })).rejects.toThrow(
      /image: not a PNG/,
    );
  });
});
