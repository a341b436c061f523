import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EvaluatedNode, RunSettings } from "../config/evaluator-config.js";
import { EvaluatorConfig } from "../config/evaluator-config.js";
import { createRng } from "../runs/rng.js";
import { imageProbeLimits, imageProbeRequest, randomImageSize } from "./image-request.js";

const settings: RunSettings = EvaluatorConfig.parse({ gateway: { baseUrl: "http://x/v1", apiKey: "k" } }).run;
const node = (serviceId: string, tier?: string): EvaluatedNode => ({
  address: "pokt1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
  serviceId,
  declaredModel: null,
  kind: "image",
  ...(tier === undefined ? {} : { tier }),
});

describe("image probe limits", () => {
  it("come from the catalog's stable-diffusion tiers, narrowed to the run's side range", () => {
    const limits = imageProbeLimits(node("stable-diffusion", "batch"), settings);
    expect(limits).toEqual({ maxWidth: 1024, maxHeight: 1024, maxSteps: 50, minSide: 512, maxSide: 768 });
    // A service id the catalog does not know as an image service falls back to stable-diffusion.
    expect(imageProbeLimits(node("my-sdxl"), settings).maxSteps).toBe(50);
  });

  it("keep every random size within the limits, in multiples of 8", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 64, max: 1024 }),
        fc.integer({ min: 0, max: 1024 }),
        fc.integer({ min: 64, max: 1024 }),
        (seed, minSide, extra, maxWidth) => {
          const limits = { maxWidth, maxHeight: 1024, maxSteps: 50, minSide, maxSide: minSide + extra };
          const { width, height } = randomImageSize(createRng(seed), limits);
          expect(width % 8).toBe(0);
          expect(height % 8).toBe(0);
          expect(width).toBeLessThanOrEqual(Math.max(8, maxWidth));
          expect(Math.max(width, height)).toBeLessThanOrEqual(Math.max(64, minSide + extra));
          expect(Math.min(width, height)).toBeGreaterThanOrEqual(8);
        },
      ),
    );
  });
});

describe("image probe requests", () => {
  it("vary prompt, seed, size and sampling like ordinary traffic, and replay from the same seed", () => {
    const limits = imageProbeLimits(node("stable-diffusion"), settings);
    const requests = Array.from({ length: 40 }, (_, i) => imageProbeRequest(createRng(i), "sd", limits));
    expect(new Set(requests.map((r) => r.body.prompt)).size).toBeGreaterThan(35);
    expect(new Set(requests.map((r) => r.body.size)).size).toBeGreaterThan(5);
    expect(requests.some((r) => r.body.negative_prompt !== undefined)).toBe(true);
    expect(requests.some((r) => r.body.steps === undefined)).toBe(true);
    for (const r of requests) expect(r.body.size).toBe(`${r.width}x${r.height}`);
    expect(imageProbeRequest(createRng(7), "sd", limits)).toEqual(
      imageProbeRequest(createRng(7), "sd", limits),
    );
  });
});
