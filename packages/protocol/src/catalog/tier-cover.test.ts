import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutStreamComputeUnits, relayComputeUnits } from "../claims/relay-compute-units.js";
import { DEFAULT_CATALOG } from "./default-catalog.js";
import { findService, findTier } from "./service-lookup.js";
import { coveredTier, tierCovers } from "./tier-cover.js";
import type { EmbeddingTierSpec, ImageTierSpec, TextTierSpec, TierSpec } from "./tier-spec.js";

const llama = findService(DEFAULT_CATALOG, "llama-2-13b")!;
const images = findService(DEFAULT_CATALOG, "stable-diffusion")!;
const embeddings = findService(DEFAULT_CATALOG, "nomic-embed-text")!;
const tier = (service: typeof llama, id: string): TierSpec => findTier(service, id)!;

describe("tierCovers", () => {
  it("lets a dearer tier serve a cheaper one whose limits it holds, never the other way round", () => {
    const [standard, batch, long] = ["standard", "batch", "long-context"].map((id) => tier(llama, id));
    expect(tierCovers(standard!, batch!)).toBe(true);
    expect(tierCovers(batch!, standard!)).toBe(false);
    expect(tierCovers(long!, standard!)).toBe(true);
    expect(tierCovers(long!, batch!)).toBe(true);
    expect(tierCovers(standard!, long!)).toBe(false);
    for (const t of [standard!, batch!, long!]) expect(tierCovers(t, t)).toBe(true);
    expect(tierCovers(tier(images, "standard"), tier(images, "batch"))).toBe(true);
    expect(tierCovers(tier(images, "batch"), tier(images, "standard"))).toBe(false);
  });

  it("refuses a tier whose limits the registered one does not hold, whatever it weighs", () => {
    const standard = tier(llama, "standard") as TextTierSpec;
    const longerAnswers: TextTierSpec = {
      ...standard,
      id: "cheap-long",
      computeUnitsPerRelay: 100,
      limits: { ...standard.limits, maxOutputTokens: 2000 },
    };
    expect(tierCovers(standard, longerAnswers)).toBe(false);
    const sd = tier(images, "standard") as ImageTierSpec;
    expect(
      tierCovers(sd, { ...sd, id: "big", computeUnitsPerRelay: 1, limits: { ...sd.limits, maxSteps: 80 } }),
    ).toBe(false);
    // Another standard image: the same call would count as other units.
    expect(
      tierCovers(sd, {
        ...sd,
        id: "sd-768",
        limits: { ...sd.limits, standardWidth: 768, standardHeight: 768 },
      }),
    ).toBe(false);
    const nomic = tier(embeddings, "standard") as EmbeddingTierSpec;
    expect(tierCovers(nomic, { ...nomic, id: "short", limits: { ...nomic.limits, dimensions: 256 } })).toBe(
      false,
    );
    expect(tierCovers(nomic, { ...nomic, id: "fewer", limits: { ...nomic.limits, maxInputs: 8 } })).toBe(
      true,
    );
    // Another kind of work altogether.
    expect(tierCovers(sd, standard)).toBe(false);
    expect(tierCovers(standard, nomic)).toBe(false);
  });
});

describe("coveredTier", () => {
  it("names the tier the envelope asks for, when the node registered it or one that covers it", () => {
    expect(coveredTier(llama, ["standard"], "batch")).toBe(findTier(llama, "batch"));
    expect(coveredTier(llama, ["batch"], "batch")).toBe(findTier(llama, "batch"));
    expect(coveredTier(llama, ["long-context"], "standard")).toBe(findTier(llama, "standard"));
    expect(coveredTier(llama, ["batch"], "standard")).toBeUndefined();
    expect(coveredTier(llama, ["standard"], "long-context")).toBeUndefined();
    expect(coveredTier(llama, ["standard"], "gold")).toBeUndefined();
    expect(coveredTier(llama, [], "standard")).toBeUndefined();
  });
});

const textTier = fc
  .record({
    computeUnitsPerRelay: fc.integer({ min: 1, max: 10_000 }),
    maxInputTokens: fc.integer({ min: 1, max: 4096 }),
    maxOutputTokens: fc.integer({ min: 1, max: 4096 }),
  })
  .map(
    ({ computeUnitsPerRelay, maxInputTokens, maxOutputTokens }): TextTierSpec => ({
      ...(tier(llama, "standard") as TextTierSpec),
      computeUnitsPerRelay,
      limits: { maxInputTokens, maxOutputTokens },
    }),
  );

describe("a relay served under a tier its node's tier covers", () => {
  it("weighs no more than the tier it was sold under, and no more than the node's own would", () => {
    fc.assert(
      fc.property(
        textTier.chain((registered) =>
          fc.tuple(
            fc.constant(registered),
            fc
              .record({
                computeUnitsPerRelay: fc.integer({ min: 1, max: registered.computeUnitsPerRelay }),
                maxInputTokens: fc.integer({ min: 1, max: registered.limits.maxInputTokens }),
                maxOutputTokens: fc.integer({ min: 1, max: registered.limits.maxOutputTokens }),
              })
              .map(
                ({ computeUnitsPerRelay, maxInputTokens, maxOutputTokens }): TextTierSpec => ({
                  ...registered,
                  id: "sold",
                  computeUnitsPerRelay,
                  limits: { maxInputTokens, maxOutputTokens },
                }),
              ),
          ),
        ),
        fc.integer({ min: 0, max: 4096 }),
        fc.integer({ min: 0, max: 4096 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom("per-call" as const, "per-token" as const),
        ([registered, sold], inputTokens, outputTokens, calls, mode) => {
          expect(tierCovers(registered, sold)).toBe(true);
          const usage = {
            inputTokens: Math.min(inputTokens, sold.limits.maxInputTokens),
            outputTokens: Math.min(outputTokens, sold.limits.maxOutputTokens),
            calls,
          };
          const weight = relayComputeUnits(sold, usage, mode);
          expect(weight).toBeLessThanOrEqual(sold.computeUnitsPerRelay * calls);
          expect(weight).toBeLessThanOrEqual(relayComputeUnits(registered, usage, mode));
          const cut = cutStreamComputeUnits(sold, usage, sold.limits.maxOutputTokens);
          expect(cut).toBeLessThanOrEqual(sold.computeUnitsPerRelay * calls);
          expect(cut).toBeLessThanOrEqual(
            cutStreamComputeUnits(registered, usage, sold.limits.maxOutputTokens),
          );
        },
      ),
    );
  });
});
