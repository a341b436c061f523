import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inRowBands, SLICE_BYTES } from "./row-bands.js";

describe("inRowBands", () => {
  it("covers every row once, in order, in bands of at most SLICE_BYTES (one row at least)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 2 * SLICE_BYTES }),
        async (height, rowBytes) => {
          const bands: [number, number][] = [];
          await inRowBands(height, rowBytes, (from, to) => bands.push([from, to]));
          expect(
            bands.flatMap(([from, to]) => Array.from({ length: to - from }, (_, i) => from + i)),
          ).toEqual(Array.from({ length: height }, (_, y) => y));
          for (const [from, to] of bands)
            expect(to - from === 1 || (to - from) * rowBytes <= SLICE_BYTES).toBe(true);
        },
      ),
    );
  });

  it("lets the event loop turn after each band", async () => {
    const seen: number[] = [];
    let turns = 0;
    let running = true;
    const tick = () => {
      turns += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await inRowBands(8, SLICE_BYTES, () => seen.push(turns));
    running = false;
    // One row a band: each band starts after at least one more turn than the one before.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(seen).toHaveLength(8);
  });
});
