import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reservationId } from "./limits.js";

describe("reservationId", () => {
  it("sorts by time, so new reservations land at the end of the primary key", () => {
    // Any two times within the 12 hex digits (until the year 10889): the earlier id sorts first.
    const time = fc.integer({ min: 0, max: 2 ** 48 - 1 });
    fc.assert(
      fc.property(time, time, (a, b) => {
        fc.pre(a !== b);
        const [early, late] = a < b ? [a, b] : [b, a];
        expect(reservationId(early) < reservationId(late)).toBe(true);
      }),
    );
  });

  it("is unique within one millisecond and carries its time", () => {
    const now = Date.UTC(2026, 11, 5, 10, 0, 0, 123);
    const ids = new Set(Array.from({ length: 1_000 }, () => reservationId(now)));
    expect(ids.size).toBe(1_000);
    for (const id of ids) {
      expect(id).toMatch(/^res_[0-9a-f]{12}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(Number.parseInt(id.slice(4, 16), 16)).toBe(now);
    }
  });
});
