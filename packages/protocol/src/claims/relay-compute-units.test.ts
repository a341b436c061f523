import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cutStreamComputeUnits,
  DEFAULT_RELAY_TOKEN_WEIGHTS,
  relayComputeUnits,
} from "./relay-compute-units.js";

describe("relayComputeUnits", () => {
  const tier = { computeUnitsPerRelay: 4600 };

  it("weighs per call with the tier's fixed compute units", () => {
    expect(relayComputeUnits(tier, { inputTokens: 3, outputTokens: 0 }, "per-call")).toBe(4600);
  });

  it("weighs per token in proportion to the work, a full call weighing the per-call units", () => {
    expect(relayComputeUnits(tier, { inputTokens: 200, outputTokens: 1000 }, "per-token")).toBe(4600);
    expect(relayComputeUnits(tier, { inputTokens: 100, outputTokens: 100 }, "per-token")).toBe(700);
    expect(relayComputeUnits(tier, { inputTokens: 0, outputTokens: 0 }, "per-token")).toBe(1);
    expect(relayComputeUnits(tier, { inputTokens: 4000, outputTokens: 4000 }, "per-token")).toBe(4600);
  });

  it("stays within [1, computeUnitsPerRelay] and grows with tokens", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 10_000 }),
        (perRelay, inputTokens, outputTokens) => {
          const t = { computeUnitsPerRelay: perRelay };
          const cu = relayComputeUnits(t, { inputTokens, outputTokens }, "per-token");
          expect(cu).toBeGreaterThanOrEqual(1);
          expect(cu).toBeLessThanOrEqual(perRelay);
          const more = relayComputeUnits(
            t,
            { inputTokens: inputTokens + 1, outputTokens: outputTokens + 1 },
            "per-token",
          );
          expect(more).toBeGreaterThanOrEqual(cu);
        },
      ),
    );
  });

  it("weighs image relays by their standard images", () => {
    const sd = { computeUnitsPerRelay: 18_000 };
    expect(relayComputeUnits(sd, { inputTokens: 0, outputTokens: 0, standardUnits: 4 }, "per-call")).toBe(
      72_000,
    );
    expect(relayComputeUnits(sd, { inputTokens: 0, outputTokens: 0, standardUnits: 1 }, "per-token")).toBe(
      18_000,
    );
  });

  it("takes custom weights and refuses fractional or negative counts", () => {
    const weights = { ...DEFAULT_RELAY_TOKEN_WEIGHTS, inputTokenWeight: 0 };
    expect(relayComputeUnits(tier, { inputTokens: 200, outputTokens: 500 }, "per-token", weights)).toBe(2300);
    expect(() => relayComputeUnits(tier, { inputTokens: -1, outputTokens: 0 }, "per-token")).toThrow(
      RangeError,
    );
    expect(() =>
      relayComputeUnits({ computeUnitsPerRelay: 1.5 }, { inputTokens: 0, outputTokens: 0 }, "per-call"),
    ).toThrow(RangeError);
  });

  it("weighs a batch of prompts as that many calls, per call and at most that per token", () => {
    const standard = { computeUnitsPerRelay: 750 };
    expect(relayComputeUnits(standard, { inputTokens: 40, outputTokens: 8, calls: 4 }, "per-call")).toBe(
      3000,
    );
    // Per token, the work: 4 full prompts share one output limit, floor(750 × 6400 / 4600).
    expect(relayComputeUnits(standard, { inputTokens: 800, outputTokens: 1000, calls: 4 }, "per-token")).toBe(
      1043,
    );
    expect(
      relayComputeUnits(standard, { inputTokens: 100_000, outputTokens: 1000, calls: 4 }, "per-token"),
    ).toBe(3000);
    expect(relayComputeUnits(standard, { inputTokens: 10, outputTokens: 0, calls: 1 }, "per-call")).toBe(750);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.nat(20_000), fc.nat(1000), (calls, input, output) => {
        const units = relayComputeUnits(
          standard,
          { inputTokens: input, outputTokens: output, calls },
          "per-token",
        );
        expect(units).toBeGreaterThanOrEqual(1);
        expect(units).toBeLessThanOrEqual(750 * calls);
      }),
    );
  });
});

describe("cutStreamComputeUnits", () => {
  const tier = { computeUnitsPerRelay: 750 };

  it("weighs the share of the output asked for that was delivered, rounded up, per call", () => {
    expect(cutStreamComputeUnits(tier, { outputTokens: 3 }, 8)).toBe(282); // 750 × 3 / 8 = 281.25
    expect(cutStreamComputeUnits(tier, { outputTokens: 1 }, 1000)).toBe(1);
    expect(cutStreamComputeUnits(tier, { outputTokens: 500 }, 1000)).toBe(375);
    expect(cutStreamComputeUnits(tier, { outputTokens: 3, calls: 4 }, 8)).toBe(1125);
    // Nothing delivered, or nothing that could be: nothing owed.
    expect(cutStreamComputeUnits(tier, { outputTokens: 0 }, 8)).toBe(0);
    expect(cutStreamComputeUnits(tier, { outputTokens: 3 }, 0)).toBe(0);
    expect(() => cutStreamComputeUnits(tier, { outputTokens: -1 }, 8)).toThrow(RangeError);
    expect(() => cutStreamComputeUnits(tier, { outputTokens: 1.5 }, 8)).toThrow(RangeError);
  });

  it("never weighs more than the whole call, nor less than its exact share", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 4_096 }),
        fc.integer({ min: 1, max: 16 }),
        (perRelay, outputTokens, maxOutputTokens, calls) => {
          const units = cutStreamComputeUnits(
            { computeUnitsPerRelay: perRelay },
            { outputTokens, calls },
            maxOutputTokens,
          );
          const ceiling = perRelay * calls;
          expect(units).toBeLessThanOrEqual(ceiling);
          const delivered = Math.min(outputTokens, maxOutputTokens);
          expect(units * maxOutputTokens).toBeGreaterThanOrEqual(ceiling * delivered);
          expect((units - 1) * maxOutputTokens).toBeLessThan(ceiling * delivered);
        },
      ),
    );
  });
});
