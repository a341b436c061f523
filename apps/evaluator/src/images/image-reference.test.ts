import { describe, expect, it } from "vitest";
import { base, type Row } from "../runs/entry-row.js";
import {
  binomialUpperTail,
  IMAGE_REFERENCE,
  referenceComparison,
  referenceDistances,
  referenceModelOf,
} from "./image-reference.js";
import { REFERENCE_MAX_COLOUR, REFERENCE_MAX_LAYOUT } from "./image-thresholds.js";

/** A compared pair as stored: `stat` the layout distance, `score` the colour distance. */
const pair = (layout: number, colour: number, status: Row["status"] = "scored"): Row => ({
  ...base,
  kind: "image",
  category: IMAGE_REFERENCE,
  status,
  stat: layout,
  score: colour,
  promptHash: "p",
});
const near = () => pair(0.01, 0.002);
const far = () => pair(0.6, 0.05);

describe("binomialUpperTail", () => {
  it("matches the binomial distribution", () => {
    expect(binomialUpperTail(0, 8, 0.1)).toBe(1);
    expect(binomialUpperTail(9, 8, 0.1)).toBe(0);
    expect(binomialUpperTail(8, 8, 0.1)).toBeCloseTo(1e-8, 14);
    // P(X ≥ 4), X ~ B(8, 0.1) = 1 − Σ_{i<4} C(8,i) 0.1^i 0.9^(8−i)
    expect(binomialUpperTail(4, 8, 0.1)).toBeCloseTo(0.0050244, 6);
    expect(binomialUpperTail(3, 8, 0.1)).toBeCloseTo(0.0380918, 6);
    expect(binomialUpperTail(1, 1, 0.5)).toBeCloseTo(0.5, 12);
  });
});

describe("referenceComparison", () => {
  it("passes a node whose pictures match the reference's, p = 1", () => {
    expect(referenceComparison(Array.from({ length: 8 }, near))).toEqual({
      modelTest: "consistent",
      modelTestPValue: 1,
      pairs: 8,
      farPairs: 0,
    });
  });

  it("tolerates a few far pairs and flags from 4 of 8 on", () => {
    const rows = (k: number) => [...Array.from({ length: k }, far), ...Array.from({ length: 8 - k }, near)];
    expect(referenceComparison(rows(3)).modelTest).toBe("consistent");
    const flagged = referenceComparison(rows(4));
    expect(flagged.modelTest).toBe("inconsistent");
    expect(flagged.modelTestPValue!).toBeLessThan(0.01);
    expect(flagged.farPairs).toBe(4);
  });

  it("calls a pair far on either distance, at the stated thresholds", () => {
    const justOver = [pair(REFERENCE_MAX_LAYOUT + 0.001, 0), pair(0, REFERENCE_MAX_COLOUR + 0.001)];
    const atBar = pair(REFERENCE_MAX_LAYOUT, REFERENCE_MAX_COLOUR);
    expect(referenceComparison([...justOver, ...justOver, atBar]).farPairs).toBe(4);
  });

  it("is untested below the minimum of pairs, and counts neither errors nor a failed reference", () => {
    expect(referenceComparison([far(), far(), far()]).modelTest).toBe("untested");
    const rows = [
      ...Array.from({ length: 3 }, far),
      pair(1, 1, "error"),
      pair(1, 1, "unsupported"),
      pair(1, 1, "error"),
    ];
    expect(referenceComparison(rows)).toMatchObject({ modelTest: "untested", pairs: 3 });
    expect(referenceComparison([])).toMatchObject({ modelTest: "untested", modelTestPValue: null });
  });

  it("ignores rows of other image checks", () => {
    const other = { ...far(), category: "image" };
    expect(
      referenceComparison([...Array.from({ length: 8 }, () => other), ...Array.from({ length: 4 }, near)]),
    ).toMatchObject({
      modelTest: "consistent",
      pairs: 4,
    });
  });
});

describe("referenceDistances", () => {
  it("puts a picture that does not decode as far as can be", () => {
    const reference = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(100) };
    expect(referenceDistances(undefined, reference)).toEqual({ layout: 1, colour: 1, far: true });
    expect(referenceDistances(reference, reference)).toEqual({ layout: 0, colour: 0, far: false });
  });
});

describe("referenceModelOf", () => {
  const node = { address: "pokt1x", serviceId: "stable-diffusion", kind: "image" as const };
  it("is the declared model, else the model the service is named for", () => {
    expect(referenceModelOf({ ...node, declaredModel: "sd-1.5" })).toBe("sd-1.5");
    expect(referenceModelOf({ ...node, declaredModel: null, model: "sd" })).toBe("sd");
    expect(referenceModelOf({ ...node, declaredModel: null })).toBe("stable-diffusion");
  });
});
