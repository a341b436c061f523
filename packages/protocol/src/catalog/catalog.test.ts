import { describe, expect, it } from "vitest";
import { Catalog, parseCatalog } from "./catalog.js";
import { DEFAULT_CATALOG } from "./default-catalog.js";
import { findService, findTier } from "./service-lookup.js";
import { isImageTier, isTextTier } from "./tier-spec.js";

function clone<T>(value: T): T {
  return structuredClone(value) as T;
}

describe("DEFAULT_CATALOG", () => {
  it("parses as a catalog", () => {
    const parsed = parseCatalog(DEFAULT_CATALOG);
    expect(parsed.ok).toBe(true);
  });

  it("offers model-named, quality-tier and skill services", () => {
    const classes = Object.fromEntries(DEFAULT_CATALOG.services.map((s) => [s.id, s.class]));
    expect(classes).toEqual({
      "llama-2-13b": "model",
      "mistral-7b": "model",
      "stable-diffusion": "model",
      "quality-gpt-3.5": "quality",
      "quality-gpt-4": "quality",
      "skill-coding": "skill",
      "skill-creative": "skill",
      "skill-instruction": "skill",
      "nomic-embed-text": "model",
    });
  });

  it.each(["llama-2-13b", "mistral-7b"])("%s carries the seed's text prices and limits", (id) => {
    const service = findService(DEFAULT_CATALOG, id)!;
    const standard = findTier(service, "standard")!;
    const batch = findTier(service, "batch")!;
    expect(standard.priceMicroUsd).toBe(750);
    expect(batch.priceMicroUsd).toBe(500);
    for (const tier of [standard, batch]) {
      expect(isTextTier(tier) && tier.limits).toEqual({ maxInputTokens: 200, maxOutputTokens: 1000 });
    }
    expect(batch.hardware.cpuAcceptable).toBe(true);
    expect(standard.hardware.cpuAcceptable).toBe(false);
  });

  it("has a 4K long-context tier priced by the tokens a call may occupy", () => {
    const tier = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "long-context")!;
    expect(tier.limits).toEqual({ maxInputTokens: 3072, maxOutputTokens: 1024 });
    expect(tier.priceMicroUsd).toBe((750 * 4096) / 1200);
  });

  it("prices stable diffusion at 18000 µUSD per 512×512 image, with generations and edits", () => {
    const service = findService(DEFAULT_CATALOG, "stable-diffusion")!;
    const standard = findTier(service, "standard")!;
    expect(standard.priceMicroUsd).toBe(18_000);
    expect(isImageTier(standard) && standard.limits).toMatchObject({
      standardWidth: 512,
      standardHeight: 512,
    });
    expect(service.operations).toEqual(["images.generations", "images.edits"]);
  });

  it("gives every quality and skill service a measured bar and standard + batch tiers", () => {
    for (const service of DEFAULT_CATALOG.services.filter((s) => s.class !== "model")) {
      expect(service.quality?.minScore).toBeGreaterThan(0);
      expect(service.tiers.map((t) => t.id)).toEqual(["standard", "batch"]);
    }
  });

  it("weights relays by their price, so one multiplier converts every service", () => {
    for (const service of DEFAULT_CATALOG.services) {
      for (const tier of service.tiers) expect(tier.computeUnitsPerRelay).toBe(tier.priceMicroUsd);
    }
  });

  it("is frozen", () => {
    expect(Object.isFrozen(DEFAULT_CATALOG.services[0]!.tiers[0]!.limits)).toBe(true);
  });
});

describe("parseCatalog", () => {
  it("names the bad field's path", () => {
    const bad = clone(DEFAULT_CATALOG) as { services: { tiers: { priceMicroUsd: unknown }[] }[] };
    bad.services[1]!.tiers[1]!.priceMicroUsd = 1.5;
    const r = parseCatalog(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("INVALID_CONFIG");
    expect(r.error.param).toBe("services.1.tiers.1.priceMicroUsd");
    expect(r.error.detail).toContain("services.1.tiers.1.priceMicroUsd");
  });

  it("refuses duplicate tier ids and duplicate service ids", () => {
    const dupTier = clone(DEFAULT_CATALOG);
    dupTier.services[0]!.tiers[1]!.id = "standard";
    const r1 = parseCatalog(dupTier);
    expect(!r1.ok && r1.error.param).toBe("services.0.tiers.1.id");

    const dupService = clone(DEFAULT_CATALOG);
    dupService.services.push(clone(dupService.services[0]!));
    const r2 = parseCatalog(dupService);
    expect(!r2.ok && r2.error.detail).toContain("duplicate service id 'llama-2-13b'");
  });

  it("refuses image limits on a text tier and a quality service without a bar", () => {
    const mixed = clone(DEFAULT_CATALOG) as unknown as { services: { tiers: { limits: unknown }[] }[] };
    mixed.services[0]!.tiers[0]!.limits = DEFAULT_CATALOG.services[2]!.tiers[0]!.limits;
    expect(parseCatalog(mixed).ok).toBe(false);

    const noBar = clone(DEFAULT_CATALOG);
    delete noBar.services[3]!.quality;
    const r = parseCatalog(noBar);
    expect(!r.ok && r.error.param).toBe("services.3.quality");
  });

  it("refuses an alias that names another service", () => {
    const clash = clone(DEFAULT_CATALOG);
    clash.services[1]!.aliases = ["LLAMA-2-13B"];
    const r = parseCatalog(clash);
    expect(!r.ok && r.error.param).toBe("services.1.aliases.0");
  });

  it("refuses a service id with a colon or capitals", () => {
    const bad = clone(DEFAULT_CATALOG);
    bad.services[0]!.id = "Llama:2";
    expect(parseCatalog(bad).ok).toBe(false);
  });

  it("accepts an empty operator catalog", () => {
    expect(Catalog.parse({ version: "mine", services: [] }).services).toEqual([]);
  });
});
