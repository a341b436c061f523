import { describe, expect, it } from "vitest";
import { RateWindows } from "./rate-window.js";

const one = { requests: 1, tokens: 100 };

describe("RateWindows", () => {
  it("lets requests through up to the RPM, then says when to retry", () => {
    const w = new RateWindows(60_000);
    const limits = { rpm: 3, tpm: null };
    for (let i = 0; i < 3; i++) {
      expect(w.check("k", limits, one, i * 1_000)).toBeUndefined();
      w.record("k", `r${i}`, one, i * 1_000);
    }
    expect(w.check("k", limits, one, 10_000)).toMatchObject({ limit: "rpm", retryAfterMs: 50_000 });
    expect(w.check("k", limits, one, 60_000)).toBeUndefined();
  });

  it("counts tokens against the TPM, and settles to the actual count", () => {
    const w = new RateWindows(60_000);
    const limits = { rpm: null, tpm: 1_000 };
    w.record("k", "r1", { requests: 1, tokens: 900 }, 0);
    expect(w.check("k", limits, { requests: 1, tokens: 200 }, 1)).toMatchObject({ limit: "tpm" });
    w.settle("k", "r1", 300);
    expect(w.check("k", limits, { requests: 1, tokens: 200 }, 1)).toBeUndefined();
    expect(w.usage("k", 1)).toEqual({ requests: 1, tokens: 300 });
  });

  it("refuses a request larger than the TPM itself", () => {
    const w = new RateWindows(60_000);
    expect(w.check("k", { rpm: null, tpm: 100 }, { requests: 1, tokens: 101 }, 0)?.detail).toContain(
      "101 tokens",
    );
  });

  it("forgets released reservations and expired entries", () => {
    const w = new RateWindows(60_000);
    w.record("k", "r1", one, 0);
    w.record("k", "r2", one, 30_000);
    w.release("k", "r2");
    expect(w.usage("k", 30_000)).toEqual(one);
    expect(w.usage("k", 60_000)).toEqual({ requests: 0, tokens: 0 });
  });

  it("keeps keys apart", () => {
    const w = new RateWindows(60_000);
    w.record("a", "r1", one, 0);
    expect(w.check("b", { rpm: 1, tpm: null }, one, 0)).toBeUndefined();
    expect(w.check("a", { rpm: 1, tpm: null }, one, 0)).toMatchObject({ limit: "rpm" });
  });
});
