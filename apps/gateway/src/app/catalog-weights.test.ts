import { DEFAULT_CATALOG, mergeCatalog } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { priceWeightGaps } from "./catalog-weights.js";

describe("tiers that sell for other than their weight", () => {
  it("are none in the default catalog", () => {
    expect(priceWeightGaps(DEFAULT_CATALOG)).toEqual([]);
  });

  it("include a tier whose price alone was patched: it still mints its old weight", () => {
    const merged = mergeCatalog(DEFAULT_CATALOG, { tiers: { "llama-2-13b:batch": { priceMicroUsd: 400 } } });
    if (!merged.ok) throw new Error(merged.error.message);
    expect(priceWeightGaps(merged.value)).toEqual([
      { tier: "llama-2-13b:batch", priceMicroUsd: 400, computeUnitsPerRelay: 500 },
    ]);
  });

  it("leave out a tier patched to the same price and weight", () => {
    const merged = mergeCatalog(DEFAULT_CATALOG, {
      tiers: { "llama-2-13b:batch": { priceMicroUsd: 400, computeUnitsPerRelay: 400 } },
    });
    if (!merged.ok) throw new Error(merged.error.message);
    expect(priceWeightGaps(merged.value)).toEqual([]);
  });
});
