import { describe, expect, it } from "vitest";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { contentCategory } from "./content-probe.js";
import { imageScore } from "./image-findings.js";

const ok = { png: true, size: true, notBlank: true };
let clock = 0;
function row(key: string, patch: Partial<ItemResultRow> = {}): ItemResultRow {
  const [kind, index] = key.split("/") as [string, string];
  return {
    runId: "r",
    itemKey: key,
    kind: "image",
    category: kind,
    status: "scored",
    score: 1,
    stat: 40,
    ttftMs: null,
    promptHash: `prompt-${index}`,
    responseHash: `pixels-${index}`,
    errorCode: null,
    varied: null,
    perceptualHash: null,
    checks: ok,
    probes: 1,
    createdAt: clock++,
    ...patch,
  };
}
/** 64-hex-digit hashes: `far(i)` are pairwise ≥ 0.25 apart, `near(i)` a few bits from `far(0)`. */
const far = (i: number) => (["0", "f", "3", "c", "5", "a"][i] ?? "9").repeat(64);
const near = (i: number) => `${"0".repeat(64 - i - 1)}${"1".repeat(i + 1)}`;

describe("imageScore", () => {
  it("passes distinct pictures and an identical repeat", () => {
    const rows = [0, 1, 2].map((i) => row(`image/${i}`, { perceptualHash: far(i) }));
    const repeat = row("image-seed/1", { perceptualHash: far(1) });
    const score = imageScore([...rows, repeat])!;
    expect(score.estimate.mean).toBe(1);
    expect(score.estimate.n).toBe(4 * 3 + 3 + 1);
    expect(score.findings.seedDistance).toBe(0);
    expect(score.cachedAnswers).toBe(false);
  });

  it("measures how far a repeat drifted and fails it past the bar", () => {
    const first = row("image/0", { perceptualHash: far(0) });
    const drifted = row("image-seed/0", { responseHash: "other", perceptualHash: near(2) });
    expect(imageScore([first, drifted])!.findings.seedDistance).toBeCloseTo(3 / 256);
    expect(imageScore([first, drifted])!.findings.checks.seed.mean).toBe(1);
    const reseeded = row("image-seed/0", { responseHash: "other", perceptualHash: far(1) });
    expect(imageScore([first, reseeded])!.findings.checks.seed.mean).toBe(0);
  });

  it("flags cached answers from two near-duplicate pairs, not from one", () => {
    const one = [row("image/0", { perceptualHash: far(0) }), row("image/1", { perceptualHash: near(0) })];
    const scoreOne = imageScore([...one, row("image/2", { perceptualHash: far(2) })])!;
    expect(scoreOne.findings.nearDuplicatePairs).toBe(1);
    expect(scoreOne.cachedAnswers).toBe(false);
    const two = imageScore([...one, row("image/2", { perceptualHash: near(1) })])!;
    expect(two.findings.nearDuplicatePairs).toBe(3);
    expect(two.cachedAnswers).toBe(true);
    expect(two.findings.checks.distinct.mean).toBe(0);
  });

  it("does not compare blank pictures or pictures of the same prompt", () => {
    const blank = { ...ok, notBlank: false };
    const rows = [
      row("image/0", { perceptualHash: far(0), checks: blank }),
      row("image/1", { perceptualHash: far(0), checks: blank }),
      row("image/2", { perceptualHash: far(2), promptHash: "same" }),
      row("image/3", { perceptualHash: far(2), promptHash: "same" }),
    ];
    const score = imageScore(rows)!;
    expect(score.findings.nearDuplicatePairs).toBe(0);
    expect(score.findings.checks.notBlank.mean).toBe(0.5);
    expect(score.findings.checks.png.n).toBe(4);
    expect(imageScore([row("speed/0", { kind: "speed" })])).toBeUndefined();
  });

  it("fails every check of a probe the node failed, and none for the gateway's failures, a timeout or a capability not announced", () => {
    const failed = { status: "error" as const, checks: null, perceptualHash: null, score: null };
    const rows = [
      row("image/0", { perceptualHash: far(0) }),
      row("image/1", { perceptualHash: far(1) }),
      // The node erred on a picture, a seed repeat and an inpaint: each check they stood for fails.
      row("image/2", { ...failed, errorCode: "NODE_FAILED" }),
      row("image-seed/0", { ...failed, errorCode: "BACKEND_ERROR" }),
      row(`${contentCategory("inpaint")}/0`, { ...failed, errorCode: "INVALID_NODE_RESPONSE" }),
      // The gateway's own failure, a capability not announced and a timeout fail no check.
      row("image/3", { ...failed, errorCode: "RATE_LIMITED" }),
      row("image/4", { ...failed, errorCode: "TIMEOUT" }),
      row(`${contentCategory("outpaint")}/0`, { ...failed, errorCode: "UNSUPPORTED_OPERATION" }),
    ];
    const score = imageScore(rows)!;
    expect(score.findings.checks.png).toMatchObject({ n: 4, mean: 0.5 });
    expect(score.findings.checks.seed).toMatchObject({ n: 1, mean: 0 });
    expect(score.findings.checks.inpaint).toMatchObject({ n: 1, mean: 0 });
    expect(score.findings.checks.outpaint).toBeUndefined();
    // A node that failed every probe has a score (of nothing passed), not none.
    expect(imageScore([row("image/0", failed)])?.estimate.mean).toBe(0);
  });
});
