import { describe, expect, it } from "vitest";
import { ORGANIC_MAX_GAP, ORGANIC_MIN_SAMPLES, organicDodged, organicMismatch } from "./organic-check.js";

/** `n` gaps around `mean`, spread evenly over ±`spread` (no random draw: the same every run). */
const gaps = (n: number, mean: number, spread: number) =>
  Array.from({ length: n }, (_, i) => mean + spread * (n === 1 ? 0 : (2 * i) / (n - 1) - 1));

describe("organicMismatch", () => {
  it("makes no finding below the minimum of checks, however large the gap", () => {
    expect(organicMismatch(gaps(ORGANIC_MIN_SAMPLES - 1, -8, 0.5))).toBe(false);
    expect(organicMismatch(gaps(ORGANIC_MIN_SAMPLES, -8, 0.5))).toBe(true);
  });

  it("leaves an honest node's noisy pairs alone: gaps spread widely around zero", () => {
    expect(organicMismatch(gaps(20, 0, 3))).toBe(false);
    expect(organicMismatch(gaps(20, 0.2, 1))).toBe(false);
    // Every pair the same as the reference's (a seeded request answered alike): no finding.
    expect(organicMismatch(gaps(20, 0, 0))).toBe(false);
  });

  it("flags a node whose customers' outputs are clearly less likely under the reference", () => {
    expect(organicMismatch(gaps(20, -4.5, 2))).toBe(true);
  });

  it("needs both a gap past ORGANIC_MAX_GAP and a t-statistic below -3", () => {
    // Consistent but small: a quantized or differently templated model, not another one.
    expect(organicMismatch(gaps(40, -ORGANIC_MAX_GAP / 2, 0.05))).toBe(false);
    // Large on average but too scattered to tell.
    expect(organicMismatch([...gaps(12, -1, 0.5), -30, 25])).toBe(false);
  });
});

describe("organicDodged", () => {
  it("flags a node that fails most repeats of its customers' requests and few probes", () => {
    expect(organicDodged(ORGANIC_MIN_SAMPLES, 0, 0)).toBe(true);
    expect(organicDodged(9, 5, 0.02)).toBe(true);
  });
  it("needs enough repeats, and more than half of them failed", () => {
    expect(organicDodged(ORGANIC_MIN_SAMPLES - 1, 0, 0)).toBe(false);
    expect(organicDodged(6, 6, 0)).toBe(false);
  });
  it("spares a node that fails probes about as often: busy, not dodging", () => {
    expect(organicDodged(9, 5, 0.5)).toBe(false);
    expect(organicDodged(14, 0, 0.8)).toBe(false);
  });
});
