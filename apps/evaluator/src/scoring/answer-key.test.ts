import { describe, expect, it } from "vitest";
import { scoredItem } from "../../test/item-rows.js";
import { answerKeyFinding } from "./answer-key.js";
import { itemCredit } from "./node-score.js";

/** A multiple-choice item asked as a letter question (one relay, whatever the choices). */
const letterItem = (i: number, varied: boolean, score: number) =>
  scoredItem(`quiz/${i}`, i, { varied, score });

const side = (from: number, varied: boolean, correct: number, total: number) =>
  Array.from({ length: total }, (_, i) => letterItem(from + i, varied, i < correct ? 1 : 0));

describe("answer-key finding", () => {
  // Four choices per item: a guess is right one time in four.
  const chance = new Map([["quiz", 0.25]]);

  it("measures recovery over the chance of a guess when items are asked as letter questions", () => {
    // Varied items a little harder than the published ones: 70% against 90%, far above chance.
    const rows = [...side(0, false, 180, 200), ...side(200, true, 140, 200)];
    const finding = answerKeyFinding([{ rows, weight: 1 }], itemCredit, chance);
    expect(finding.chance).toBeCloseTo(0.25, 9);
    expect(finding.flagged).toBe(false);
  });

  it("flags a node right on the published items and at chance on the varied ones", () => {
    const rows = [...side(0, false, 190, 200), ...side(200, true, 52, 200)];
    const finding = answerKeyFinding([{ rows, weight: 1 }], itemCredit, chance);
    expect(finding.flagged).toBe(true);
  });
});
