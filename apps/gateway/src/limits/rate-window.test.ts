import { describe, expect, it } from "vitest";
import { checkWindow, type WindowEntry, windowUsage } from "./rate-window.js";

const one = { requests: 1, tokens: 100 };
const at = (ms: number, entry = one): WindowEntry => ({ at: ms, ...entry });

describe("checkWindow", () => {
  it("lets requests through up to the RPM, then says when to retry", () => {
    const limits = { rpm: 3, tpm: null };
    const entries: WindowEntry[] = [];
    for (let i = 0; i < 3; i++) {
      expect(checkWindow(entries, limits, one, i * 1_000)).toBeUndefined();
      entries.push(at(i * 1_000));
    }
    expect(checkWindow(entries, limits, one, 10_000)).toMatchObject({ limit: "rpm", retryAfterMs: 50_000 });
    expect(checkWindow(entries, limits, one, 60_000)).toBeUndefined();
  });

  it("counts tokens against the TPM, by the actual count once settled", () => {
    const limits = { rpm: null, tpm: 1_000 };
    expect(
      checkWindow([at(0, { requests: 1, tokens: 900 })], limits, { requests: 1, tokens: 200 }, 1),
    ).toMatchObject({ limit: "tpm" });
    const settled = [at(0, { requests: 1, tokens: 300 })];
    expect(checkWindow(settled, limits, { requests: 1, tokens: 200 }, 1)).toBeUndefined();
    expect(windowUsage(settled, 1)).toEqual({ requests: 1, tokens: 300 });
  });

  it("refuses a request larger than the TPM itself", () => {
    expect(checkWindow([], { rpm: null, tpm: 100 }, { requests: 1, tokens: 101 }, 0)?.detail).toContain(
      "101 tokens",
    );
  });

  it("forgets entries older than the window", () => {
    const entries = [at(0), at(30_000)];
    expect(windowUsage(entries, 30_000)).toEqual({ requests: 2, tokens: 200 });
    expect(windowUsage(entries, 60_000)).toEqual(one);
    expect(windowUsage(entries, 90_000)).toEqual({ requests: 0, tokens: 0 });
  });
});
