import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG } from "./default-catalog.js";
import { checkImageLimits, imageUnits } from "./image-limits.js";
import { resolveModelName } from "./model-names.js";
import { findService, operationSupported } from "./service-lookup.js";

const resolved = resolveModelName(DEFAULT_CATALOG, "stable-diffusion");
if (!resolved.ok || resolved.value.kind !== "image") throw new Error("stable-diffusion missing");
const sd = resolved.value;
const tier = sd.tier;

describe("imageUnits", () => {
  it.each([
    [512, 512, 1, 1],
    [512, 512, 4, 4],
    [1024, 1024, 1, 4],
    [768, 768, 1, 3],
    [768, 768, 2, 5],
    [256, 256, 1, 1],
    [256, 256, 4, 1],
    [512, 768, 1, 2],
  ])("%ix%i × %i = %i standard images", (w, h, n, units) => {
    expect(imageUnits(tier, w, h, n)).toBe(units);
  });

  it("property: never less than the exact pixel ratio, and less than one unit above it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 1, max: 4 }),
        (a, b, n) => {
          const exact = (a * 8 * b * 8 * n) / (512 * 512);
          const units = imageUnits(tier, a * 8, b * 8, n);
          expect(units).toBeGreaterThanOrEqual(exact);
          expect(units - exact).toBeLessThan(1);
        },
      ),
    );
  });
});

describe("checkImageLimits", () => {
  it("accepts the largest allowed call and reports its units", () => {
    expect(checkImageLimits(sd, { width: 1024, height: 1024, steps: 50, n: 4 })).toEqual({
      ok: true,
      value: { units: 16 },
    });
  });

  it.each([
    [
      { width: 1032, height: 512 },
      "size",
      "1032x512 is larger than tier stable-diffusion:standard allows (1024x1024)",
    ],
    [
      { width: 512, height: 512, n: 5 },
      "n",
      "n is 5; tier stable-diffusion:standard allows 4 images per call",
    ],
    [
      { width: 512, height: 512, steps: 51 },
      "steps",
      "steps is 51; tier stable-diffusion:standard allows 50",
    ],
  ])("refuses %j with IMAGE_TOO_LARGE", (call, param, detail) => {
    const r = checkImageLimits(sd, call);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ code: "IMAGE_TOO_LARGE", param, detail });
  });

  it("refuses sides that are not multiples of 8, and text tiers", () => {
    const r = checkImageLimits(sd, { width: 500, height: 512 });
    expect(!r.ok && r.error.code).toBe("INVALID_REQUEST");
    const llama = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
    if (!llama.ok) throw new Error("llama missing");
    const t = checkImageLimits(llama.value, { width: 512, height: 512 });
    expect(!t.ok && t.error.code).toBe("UNSUPPORTED_OPERATION");
  });
});

describe("operationSupported", () => {
  it("follows the service's operations", () => {
    const llama = findService(DEFAULT_CATALOG, "llama-2-13b")!;
    expect(operationSupported(sd.service, "images.edits")).toBe(true);
    expect(operationSupported(sd.service, "chat.completions")).toBe(false);
    expect(operationSupported(llama, "completions")).toBe(true);
    expect(operationSupported(llama, "images.generations")).toBe(false);
  });
});
