import { createDevImageEngine } from "@pocket-ai/node/fakes";
import { encodePng } from "@pocket-ai/png";
import { describe, expect, it } from "vitest";
import { inspectImage } from "./inspect-image.js";

function filled(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([...pixel(x, y), 255], (y * width + x) * 4);
  return encodePng({ width, height, data });
}

describe("inspectImage", () => {
  it("passes a real picture of the size asked", async () => {
    const { images } = await createDevImageEngine().generate({
      prompt: "a stone bridge",
      width: 96,
      height: 64,
      seed: 4,
    });
    const seen = inspectImage(images[0], { width: 96, height: 64 });
    expect(seen.checks).toEqual({ png: true, size: true, notBlank: true });
    expect(seen.maxChannelStdDev!).toBeGreaterThan(10);
    expect(seen.perceptualHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("fails the size check on another size", () => {
    const png = filled(64, 64, (x, y) => [x * 4, y * 4, 90]);
    expect(inspectImage(png, { width: 64, height: 96 }).checks).toEqual({
      png: true,
      size: false,
      notBlank: true,
    });
  });

  it.each([
    ["a flat fill", () => filled(32, 32, () => [128, 128, 128])],
    ["a fill with faint dither", () => filled(32, 32, (x, y) => [128 + ((x + y) % 3), 128, 128])],
    ["a two-tone card", () => filled(32, 32, (x) => (x < 16 ? [0, 0, 0] : [255, 255, 255]))],
  ])("calls %s blank", (_name, png) => {
    expect(inspectImage(png(), { width: 32, height: 32 }).checks.notBlank).toBe(false);
  });

  it("fails every check when the answer is not a PNG, and keeps only a hash of it", () => {
    const seen = inspectImage(new TextEncoder().encode("<html>oops</html>"), { width: 8, height: 8 });
    expect(seen.checks).toEqual({ png: false, size: false, notBlank: false });
    expect(seen.perceptualHash).toBeNull();
    expect(seen.pixelHash).toMatch(/^[0-9a-f]{64}$/);
    expect(inspectImage(undefined, { width: 8, height: 8 }).checks.png).toBe(false);
  });
});
