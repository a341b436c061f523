import { describe, expect, it } from "vitest";
import { servingHeapFlags } from "./serving-heap.js";

describe("servingHeapFlags", () => {
  it("turns allocation-site pretenuring off by default", () => {
    expect(servingHeapFlags([])).toEqual(["--no-allocation-site-pretenuring"]);
    expect(servingHeapFlags(["--enable-source-maps", "--max-old-space-size=2048"])).toEqual([
      "--no-allocation-site-pretenuring",
    ]);
  });

  it("leaves it to a command line that decides it either way", () => {
    expect(servingHeapFlags(["--allocation-site-pretenuring"])).toEqual([]);
    expect(servingHeapFlags(["--no-allocation-site-pretenuring"])).toEqual([]);
  });
});
