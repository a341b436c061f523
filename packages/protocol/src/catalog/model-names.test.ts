import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG } from "./default-catalog.js";
import { mergeCatalog } from "./merge-catalog.js";
import { listModelNames, modelNameFor, resolveModelName } from "./model-names.js";

function resolve(model: string) {
  return resolveModelName(DEFAULT_CATALOG, model);
}

describe("resolveModelName", () => {
  it.each([
    ["llama-2-13b", "llama-2-13b:standard"],
    ["llama-2-13b:batch", "llama-2-13b:batch"],
    ["llama-2-13b:long-context", "llama-2-13b:long-context"],
    ["quality-gpt-3.5:standard", "quality-gpt-3.5:standard"],
    ["quality-gpt-3.5", "quality-gpt-3.5:standard"],
    ["skill-coding", "skill-coding:standard"],
    ["skill-instruction:batch", "skill-instruction:batch"],
    ["stable-diffusion", "stable-diffusion:standard"],
    ["meta-llama/Llama-2-13b-chat-hf", "llama-2-13b:standard"],
    ["meta-llama/Llama-2-13b-chat-hf:batch", "llama-2-13b:batch"],
    ["llama2:13b", "llama-2-13b:standard"],
    ["llama2:13b:batch", "llama-2-13b:batch"],
    ["Mistral-7B:Batch", "mistral-7b:batch"],
  ])("%s → %s", (model, canonical) => {
    const r = resolve(model);
    expect(r.ok && r.value.modelName).toBe(canonical);
  });

  it("narrows the tier by the service kind", () => {
    const r = resolve("mistral-7b:batch");
    if (!r.ok || r.value.kind !== "text") throw new Error("expected a text model");
    expect(r.value.tier.limits.maxInputTokens).toBe(200);
    expect(r.value.tier.priceMicroUsd).toBe(500);
  });

  it.each(["gpt-4", "llama-2-70b", "llama-2-70b:batch", ":standard", ""])("%j is UNKNOWN_MODEL", (model) => {
    const r = resolve(model);
    expect(!r.ok && r.error.code).toBe("UNKNOWN_MODEL");
    expect(!r.ok && r.error.param).toBe("model");
  });

  it("an unknown tier of a known service is UNKNOWN_TIER and lists the tiers", () => {
    const r = resolve("llama-2-13b:gold");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("UNKNOWN_TIER");
    expect(r.error.detail).toBe(
      "service llama-2-13b has no tier 'gold'; tiers: standard, batch, long-context",
    );
  });

  it("a bare id resolves to the first tier when there is no standard tier", () => {
    const merged = mergeCatalog(DEFAULT_CATALOG, { disable: ["skill-coding:standard"] });
    if (!merged.ok) throw new Error(merged.error.detail);
    const r = resolveModelName(merged.value, "skill-coding");
    expect(r.ok && r.value.modelName).toBe("skill-coding:batch");
  });
});

describe("modelNameFor and listModelNames", () => {
  it("every listed name resolves, and explicit names round-trip", () => {
    for (const name of listModelNames(DEFAULT_CATALOG)) {
      const r = resolve(name);
      expect(r.ok).toBe(true);
      if (r.ok && name.includes(":")) expect(modelNameFor(r.value.service.id, r.value.tier.id)).toBe(name);
    }
  });

  it("lists the bare id before its tiers", () => {
    expect(listModelNames(DEFAULT_CATALOG).slice(0, 4)).toEqual([
      "llama-2-13b",
      "llama-2-13b:standard",
      "llama-2-13b:batch",
      "llama-2-13b:long-context",
    ]);
  });
});
