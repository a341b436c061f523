import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG } from "./default-catalog.js";
import { resolveModelName } from "./model-names.js";
import { findService, findTier } from "./service-lookup.js";
import { checkTextLimits, clampMaxTokens } from "./text-limits.js";
import type { TextTierSpec } from "./tier-spec.js";

function model(name: string) {
  const r = resolveModelName(DEFAULT_CATALOG, name);
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
}

const llama = model("llama-2-13b");
const standardTier = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard") as TextTierSpec;

describe("checkTextLimits", () => {
  it("accepts a call exactly at the limits", () => {
    expect(checkTextLimits(llama, { inputTokens: 200, maxTokens: 1000 })).toEqual({
      ok: true,
      value: { maxTokens: 1000 },
    });
  });

  it("explains an input over the limit", () => {
    const r = checkTextLimits(llama, { inputTokens: 240, maxTokens: 10 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("INPUT_TOO_LONG");
    expect(r.error.detail).toBe("prompt has 240 input tokens; tier llama-2-13b:standard allows 200");
    expect(r.error.param).toBe("prompt");
  });

  it("explains an output over the limit, counting every choice", () => {
    const one = checkTextLimits(llama, { inputTokens: 10, maxTokens: 1001 });
    expect(!one.ok && one.error.detail).toBe("max_tokens is 1001; tier llama-2-13b:standard allows 1000");
    const two = checkTextLimits(llama, { inputTokens: 10, maxTokens: 800, choices: 2 });
    expect(!two.ok && two.error.code).toBe("OUTPUT_TOO_LONG");
    expect(!two.ok && two.error.detail).toBe(
      "n=2 × max_tokens 800 = 1600 output tokens; tier llama-2-13b:standard allows 1000",
    );
  });

  it("fills a missing max_tokens with the tier's share per choice", () => {
    expect(checkTextLimits(llama, { inputTokens: 1 })).toEqual({ ok: true, value: { maxTokens: 1000 } });
    expect(checkTextLimits(llama, { inputTokens: 1, choices: 3 })).toEqual({
      ok: true,
      value: { maxTokens: 333 },
    });
  });

  it("names a bare tier when no model is given", () => {
    const r = checkTextLimits(standardTier, { inputTokens: 201 });
    expect(!r.ok && r.error.detail).toBe("prompt has 201 input tokens; tier standard allows 200");
  });

  it("allows the long-context tier what standard refuses", () => {
    expect(
      checkTextLimits(model("llama-2-13b:long-context"), { inputTokens: 3000, maxTokens: 1000 }).ok,
    ).toBe(true);
  });

  it("refuses text calls on an image tier and bad counts", () => {
    expect(checkTextLimits(model("stable-diffusion"), { inputTokens: 1 }).ok).toBe(false);
    const neg = checkTextLimits(llama, { inputTokens: -1 });
    expect(!neg.ok && neg.error.code).toBe("INVALID_REQUEST");
    const frac = checkTextLimits(llama, { inputTokens: 1, maxTokens: 1.5 });
    expect(!frac.ok && frac.error.param).toBe("max_tokens");
  });

  it("property: any input ≤ max passes, any input > max fails with INPUT_TOO_LONG", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 1000 }),
        (inputTokens, maxTokens) => {
          expect(checkTextLimits(llama, { inputTokens, maxTokens }).ok).toBe(true);
        },
      ),
    );
    fc.assert(
      fc.property(fc.integer({ min: 201, max: 1_000_000 }), (inputTokens) => {
        const r = checkTextLimits(llama, { inputTokens, maxTokens: 1 });
        expect(!r.ok && r.error.code).toBe("INPUT_TOO_LONG");
      }),
    );
  });

  it("property: the output budget is max_tokens × choices", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 8 }), (maxTokens, choices) => {
        const r = checkTextLimits(llama, { inputTokens: 0, maxTokens, choices });
        expect(r.ok).toBe(maxTokens * choices <= 1000);
        if (!r.ok) expect(r.error.code).toBe("OUTPUT_TOO_LONG");
      }),
    );
  });
});

describe("clampMaxTokens", () => {
  it("caps at the tier limit and fills a missing value", () => {
    expect(clampMaxTokens(standardTier)).toBe(1000);
    expect(clampMaxTokens(standardTier, null)).toBe(1000);
    expect(clampMaxTokens(standardTier, 4000)).toBe(1000);
    expect(clampMaxTokens(standardTier, 64)).toBe(64);
    expect(clampMaxTokens(standardTier, undefined, 4)).toBe(250);
  });

  it("property: the result always passes checkTextLimits", () => {
    fc.assert(
      fc.property(
        fc.option(fc.nat(5000), { nil: undefined }),
        fc.integer({ min: 1, max: 16 }),
        (requested, choices) => {
          const maxTokens = clampMaxTokens(standardTier, requested, choices);
          expect(checkTextLimits(standardTier, { inputTokens: 0, maxTokens, choices }).ok).toBe(true);
        },
      ),
    );
  });
});
