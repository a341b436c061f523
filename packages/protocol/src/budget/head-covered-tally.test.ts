import { describe, expect, it } from "vitest";
import { HeadCoveredTally } from "./head-covered-tally.js";

const piece = (text: string) => ({ choices: [{ index: 0, delta: { content: text } }] });

describe("HeadCoveredTally", () => {
  it("counts a chunk only once a signed head covers it", () => {
    const tally = new HeadCoveredTally({ inputTokens: 7, maxOutputTokens: 100 });
    tally.add(0, piece("a"));
    tally.cover(1);
    tally.add(1, piece("b"));
    tally.add(2, piece("c"));
    expect(tally.usage()).toEqual({ inputTokens: 7, outputTokens: 1 });
    expect(tally.uncovered).toBe(2);
    tally.cover(3);
    expect(tally.usage()).toEqual({ inputTokens: 7, outputTokens: 3 });
    expect(tally.uncovered).toBe(0);
  });

  it("never moves back, and counts a chunk passed on after its head at once", () => {
    const tally = new HeadCoveredTally({ inputTokens: 0, maxOutputTokens: 100 });
    tally.cover(4);
    tally.cover(2);
    tally.add(3, piece("late"));
    tally.add(5, piece("ahead"));
    expect(tally.outputTokens).toBe(1);
    expect(tally.chunks).toBe(1);
  });

  it("leaves chunks a client skipped out, whatever covers them", () => {
    const tally = new HeadCoveredTally({ inputTokens: 0, maxOutputTokens: 100 });
    tally.add(0, piece("a"));
    // seq 1 was never passed on (the client had gone); a head at seq 2 covers 0..2.
    tally.cover(3);
    expect(tally.outputTokens).toBe(1);
  });
});
