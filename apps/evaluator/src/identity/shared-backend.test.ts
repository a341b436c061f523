import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../runs/rng.js";
import { declaredModelTest } from "./model-test.js";
import {
  type Fingerprints,
  MIN_SHARED_PROMPTS,
  SAME_BACKEND_SHARE,
  sharedBackendGroups,
} from "./shared-backend.js";

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

/** The rule itself, pair by pair over every pair of nodes: what the grouping must equal. */
function pairwiseGroups(fingerprints: Fingerprints): Map<string, string | null> {
  const nodes = [...fingerprints.keys()].sort();
  const component = new Map(nodes.map((n) => [n, n]));
  const relabel = (from: string, to: string) => {
    for (const [n, c] of component) if (c === from) component.set(n, to);
  };
  for (const a of nodes)
    for (const b of nodes) {
      if (a >= b) continue;
      const x = fingerprints.get(a)!;
      const y = fingerprints.get(b)!;
      const common = [...x.keys()].filter((p) => y.has(p));
      const same = common.filter((p) => x.get(p) === y.get(p)).length;
      if (common.length >= MIN_SHARED_PROMPTS && same / common.length >= SAME_BACKEND_SHARE)
        relabel(component.get(b)!, component.get(a)!);
    }
  const out = new Map<string, string | null>();
  for (const n of nodes) {
    const group = nodes.filter((m) => component.get(m) === component.get(n));
    out.set(n, group.length > 1 ? `backend-${sha256Hex(group.join(",")).slice(0, 12)}` : null);
  }
  return out;
}

describe("sharedBackendGroups against the pairwise rule", () => {
  // Few prompts and few answers each, so that agreeing pairs, near misses (3 of 4, 9 of 11) and
  // chains of them are common.
  const fingerprint = fc
    .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 2 })), {
      selector: ([prompt]) => prompt,
      maxLength: 12,
    })
    .map((pairs) => new Map(pairs.map(([p, a]) => [`p${p}`, `a${a}`])));
  it("gives the same groups on random fingerprints", () => {
    fc.assert(
      fc.property(fc.array(fingerprint, { maxLength: 24 }), (prints) => {
        const fingerprints = new Map(prints.map((f, i) => [`n${String(i).padStart(2, "0")}`, f]));
        expect(sharedBackendGroups(fingerprints)).toEqual(pairwiseGroups(fingerprints));
      }),
      { numRuns: 300, seed: 20261207 },
    );
  });

  it("groups a thousand nodes of which pairs share a backend", () => {
    // Each pair answers alike, every other node differently: 500 groups of two.
    const prints = new Map(
      Array.from({ length: 1000 }, (_, i) => [
        `n${String(i).padStart(4, "0")}`,
        new Map(Array.from({ length: 8 }, (_, p) => [`p${p}`, `a${Math.floor(i / 2)}-${p}`])),
      ]),
    );
    const groups = sharedBackendGroups(prints);
    expect(new Set(groups.values()).size).toBe(500);
    expect(groups.get("n0000")).toBe(groups.get("n0001"));
    expect(groups.get("n0001")).not.toBe(groups.get("n0002"));
    expect(groups.get("n0000")).toBe(pairwiseGroups(new Map([...prints].slice(0, 2))).get("n0000"));
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
