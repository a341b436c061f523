import { describe, expect, it } from "vitest";
import { EvaluatorConfig } from "../config/evaluator-config.js";
import { planImageRun } from "./plan.js";

const settings = EvaluatorConfig.parse({ gateway: { baseUrl: "http://x/v1", apiKey: "k" } }).run;

describe("planImageRun", () => {
  it("asks each first probe before its repeat, in an order that changes with the seed", () => {
    for (let seed = 0; seed < 50; seed++) {
      const plan = planImageRun(
        { ...settings, imageProbes: 12, imageSeedRepeats: 6, imageContentProbes: 0 },
        seed,
      );
      expect(plan).toHaveLength(18);
      expect(new Set(plan.map((e) => e.key)).size).toBe(18);
      for (const [at, entry] of plan.entries()) {
        if (entry.kind === "image" && entry.repeat)
          expect(plan.findIndex((e) => e.key === `image/${entry.index}`)).toBeLessThan(at);
      }
    }
    const keys = (seed: number) => planImageRun(settings, seed).map((e) => e.key);
    expect(keys(1)).toEqual(keys(1));
    expect(keys(1)).not.toEqual(keys(2));
  });

  it("repeats no more probes than were asked", () => {
    const plan = planImageRun({ ...settings, imageProbes: 2, imageSeedRepeats: 5, imageContentProbes: 0 }, 3);
    expect(plan.map((e) => e.key).sort()).toEqual(["image-seed/0", "image-seed/1", "image/0", "image/1"]);
  });

  it("adds the content probes of every check", () => {
    const plan = planImageRun({ ...settings, imageProbes: 1, imageSeedRepeats: 0, imageContentProbes: 2 }, 5);
    expect(plan.map((e) => e.key).sort()).toEqual([
      "image-colour/0",
      "image-colour/1",
      "image-img2img/0",
      "image-img2img/1",
      "image-inpaint/0",
      "image-inpaint/1",
      "image-outpaint/0",
      "image-outpaint/1",
      "image/0",
    ]);
  });

  it("adds reference comparisons only when the node's model has a reference", () => {
    const few = {
      ...settings,
      imageProbes: 1,
      imageSeedRepeats: 0,
      imageContentProbes: 0,
      imageReferenceProbes: 3,
    };
    expect(planImageRun(few, 5).map((e) => e.key)).toEqual(["image/0"]);
    expect(
      planImageRun(few, 5, true)
        .map((e) => e.key)
        .sort(),
    ).toEqual(["image-reference/0", "image-reference/1", "image-reference/2", "image/0"]);
  });
});
