import { describe, expect, it } from "vitest";
import type { Catalog } from "./catalog.js";
import { DEFAULT_CATALOG } from "./default-catalog.js";
import { type CatalogOverrides, mergeCatalog } from "./merge-catalog.js";
import { findService, findTier } from "./service-lookup.js";
import type { TextServiceSpec } from "./service-spec.js";

function merged(overrides: CatalogOverrides): Catalog {
  const r = mergeCatalog(DEFAULT_CATALOG, overrides);
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
}

const phi: TextServiceSpec = {
  ...(structuredClone(findService(DEFAULT_CATALOG, "mistral-7b")) as TextServiceSpec),
  id: "phi-2",
  displayName: "Phi-2",
  modelFamily: "phi",
  aliases: ["microsoft/phi-2"],
};

describe("mergeCatalog", () => {
  it("with no overrides keeps the services and relabels the version", () => {
    const out = merged({});
    expect(out.services).toEqual(DEFAULT_CATALOG.services);
    expect(out.version).toBe("pocket-ai-default/1+local");
    expect(merged({ version: "portal-x/7" }).version).toBe("portal-x/7");
  });

  it("adds a new service and replaces one with the same id whole", () => {
    const out = merged({
      services: [phi, { ...phi, id: "mistral-7b", aliases: [], displayName: "Mistral (ours)" }],
    });
    expect(findService(out, "phi-2")?.displayName).toBe("Phi-2");
    expect(findService(out, "mistral-7b")?.displayName).toBe("Mistral (ours)");
    expect(out.services).toHaveLength(DEFAULT_CATALOG.services.length + 1);
  });

  it("patches a tier's price and one limit, keeping the rest", () => {
    const out = merged({
      tiers: {
        "llama-2-13b:batch": {
          priceMicroUsd: 400,
          limits: { maxInputTokens: 400 },
          hardware: { minVramGb: 4 },
        },
      },
    });
    const batch = findTier(findService(out, "llama-2-13b")!, "batch")!;
    expect(batch.priceMicroUsd).toBe(400);
    expect(batch.limits).toEqual({ maxInputTokens: 400, maxOutputTokens: 1000 });
    expect(batch.hardware.minVramGb).toBe(4);
    expect(batch.hardware.cpuAcceptable).toBe(true);
    expect(findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "batch")!.priceMicroUsd).toBe(500);
  });

  it("disables a service or a single tier", () => {
    const out = merged({ disable: ["quality-gpt-4", "llama-2-13b:long-context"] });
    expect(findService(out, "quality-gpt-4")).toBeUndefined();
    expect(findService(out, "llama-2-13b")!.tiers.map((t) => t.id)).toEqual(["standard", "batch"]);
  });

  it("applies services, then tier patches, then disables", () => {
    const out = merged({
      services: [phi],
      tiers: { "phi-2:standard": { priceMicroUsd: 300 } },
      disable: ["phi-2:batch"],
    });
    const service = findService(out, "phi-2")!;
    expect(service.tiers.map((t) => [t.id, t.priceMicroUsd])).toEqual([
      ["standard", 300],
      ["long-context", 2560],
    ]);
  });

  it.each<[CatalogOverrides, string]>([
    [{ tiers: { "llama-2-13b:gold": { priceMicroUsd: 1 } } }, "tiers.llama-2-13b:gold"],
    [{ tiers: { "llama-2-13b": { priceMicroUsd: 1 } } }, "tiers.llama-2-13b"],
    [{ disable: ["llama-2-70b"] }, "disable.0"],
    [{ disable: ["mistral-7b", "llama-2-13b:gold"] }, "disable.1"],
    [{ disable: ["llama-2-13b:standard", "llama-2-13b:batch", "llama-2-13b:long-context"] }, "disable.2"],
    [{ tiers: { "llama-2-13b:batch": { priceMicroUsd: -1 } } }, "tiers.llama-2-13b:batch.priceMicroUsd"],
  ])("refuses %j as INVALID_CONFIG at %s", (overrides, param) => {
    const r = mergeCatalog(DEFAULT_CATALOG, overrides);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("INVALID_CONFIG");
    expect(r.error.param).toBe(param);
  });

  it("re-validates the result: image limits patched onto a text tier are refused", () => {
    const r = mergeCatalog(DEFAULT_CATALOG, {
      tiers: { "llama-2-13b:standard": { limits: { maxWidth: 64 } } },
    });
    expect(!r.ok && r.error.code).toBe("INVALID_CONFIG");
  });
});
