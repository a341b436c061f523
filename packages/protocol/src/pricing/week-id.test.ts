import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findWeeklyRate, WeeklyRate, weekIdOf, weekStartMs } from "./week-id.js";

const DAY = 86_400_000;

describe("ISO weeks", () => {
  it("names known weeks, with the year of the week's Thursday", () => {
    expect(weekIdOf(Date.UTC(2026, 10, 26))).toBe("2026-W48");
    expect(weekIdOf(Date.UTC(2026, 10, 23))).toBe("2026-W48"); // Monday
    expect(weekIdOf(Date.UTC(2026, 10, 29, 23, 59, 59, 999))).toBe("2026-W48"); // Sunday night
    expect(weekIdOf(Date.UTC(2027, 0, 1))).toBe("2026-W53");
    expect(weekIdOf(Date.UTC(2024, 11, 30))).toBe("2025-W01");
    expect(weekIdOf(Date.UTC(2021, 0, 3))).toBe("2020-W53");
    expect(weekIdOf(0)).toBe("1970-W01");
  });

  it("every instant lies in the 7 days starting at its week's Monday", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2200, 0, 1) }), (t) => {
        const start = weekStartMs(weekIdOf(t));
        expect(start <= t && t < start + 7 * DAY).toBe(true);
        expect(new Date(start).getUTCDay()).toBe(1);
      }),
    );
  });

  it("refuses weeks that do not exist", () => {
    expect(() => weekStartMs("2025-W53")).toThrow(RangeError);
    expect(() => weekStartMs("2026-W00")).toThrow(RangeError);
    expect(weekStartMs("2026-W53")).toBe(Date.UTC(2026, 11, 28));
    expect(WeeklyRate.safeParse({ weekId: "2026-W54", rateMicroUsdPerPokt: 1 }).success).toBe(false);
    expect(WeeklyRate.safeParse({ weekId: "2026-W48", rateMicroUsdPerPokt: 0 }).success).toBe(false);
  });

  it("finds the week's rate or says RATE_NOT_SET", () => {
    const rates = [{ weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 }];
    expect(findWeeklyRate(rates, "2026-W48")).toEqual({ ok: true, value: rates[0] });
    const r = findWeeklyRate(rates, "2026-W49");
    expect(r.ok ? null : r.error.code).toBe("RATE_NOT_SET");
  });
});
