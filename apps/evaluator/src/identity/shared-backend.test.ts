import { describe, expect, it } from "vitest";
import { declaredModelTest } from "./model-test.js";
import { sharedBackendGroups } from "./shared-backend.js";

const answers = (pairs: [string, string][]) => new Map(pairs);

describe("sharedBackendGroups", () => {
  it("groups nodes with identical answers, transitively, and leaves others alone", () => {
    const same = answers([
      ["p1", "a"],
      ["p2", "b"],
      ["p3", "c"],
      ["p4", "d"],
      ["p5", "e"],
    ]);
    const groups = sharedBackendGroups(
      new Map([
        ["n1", same],
        ["n2", new Map(same)],
        ["n3", new Map(same)],
        [
          "n4",
          answers([
            ["p1", "x"],
            ["p2", "b"],
            ["p3", "y"],
            ["p4", "d"],
            ["p5", "z"],
          ]),
        ],
      ]),
    );
    expect(groups.get("n1")).not.toBeNull();
    expect(groups.get("n2")).toBe(groups.get("n1"));
    expect(groups.get("n3")).toBe(groups.get("n1"));
    expect(groups.get("n4")).toBeNull();
  });

  it("needs enough common prompts", () => {
    const few = answers([
      ["p1", "a"],
      ["p2", "b"],
    ]);
    const groups = sharedBackendGroups(
      new Map([
        ["n1", few],
        ["n2", new Map(few)],
      ]),
    );
    expect(groups.get("n1")).toBeNull();
  });
});

describe("declaredModelTest", () => {
  const ref = Array.from({ length: 20 }, (_, i) => -1 - (i % 7) * 0.1);
  it("is untested with too few samples", () => {
    expect(declaredModelTest([-1, -2], ref).modelTest).toBe("untested");
  });
  it("accepts samples like the reference and rejects samples far from it", () => {
    expect(declaredModelTest([...ref].reverse(), ref).modelTest).toBe("consistent");
    expect(
      declaredModelTest(
        ref.map((x) => x - 3),
        ref,
      ).modelTest,
    ).toBe("inconsistent");
  });
  it("catches drift within the node's own samples", () => {
    const drifted = [...ref.slice(0, 10), ...ref.slice(10).map((x) => x - 5)];
    expect(declaredModelTest(drifted, [...ref, ...ref.map((x) => x - 5)]).modelTest).toBe("inconsistent");
  });
});
