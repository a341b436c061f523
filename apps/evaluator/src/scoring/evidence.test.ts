import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { scoredItem } from "../../test/item-rows.js";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { loadSuite } from "../tasks/load-task.js";
import { categoryEstimates, tallyTasks } from "./evidence.js";
import { itemCredit } from "./node-score.js";
import { barReach, unreachableBars } from "./reachable-bars.js";
import { DEFAULT_TIER_BARS, itemsNeeded, qualifyingServices } from "./tiers.js";

const row = (
  task: string,
  category: string,
  i: number,
  score: number | null,
  patch: Partial<ItemResultRow> = {},
) => scoredItem(`${task}/${i}`, i, { category, score, varied: false, ...patch });

const items = (task: string, category: string, correct: number, total: number) =>
  Array.from({ length: total }, (_, i) => row(task, category, i, i < correct ? 1 : 0));

describe("pooled evidence", () => {
  it("defines general as an equal-weight mean of categories, whatever each task's size", () => {
    const small = [...items("a", "knowledge", 9, 10), ...items("b", "coding", 1, 10)];
    const large = [...items("a", "knowledge", 90, 100), ...items("b", "coding", 1, 10)];
    const g1 = categoryEstimates(tallyTasks([{ rows: small, weight: 1 }], itemCredit)).general!;
    const g2 = categoryEstimates(tallyTasks([{ rows: large, weight: 1 }], itemCredit)).general!;
    expect(g1.mean).toBeCloseTo(0.5, 9);
    expect(g2.mean).toBeCloseTo(0.5, 9);
  });

  it("narrows the interval as rounds accumulate new items, older rounds weighing less", () => {
    const round = (from: number) =>
      Array.from({ length: 10 }, (_, i) => row("a", "knowledge", from + i, i < 8 ? 1 : 0));
    const one = categoryEstimates(tallyTasks([{ rows: round(0), weight: 1 }], itemCredit)).categories
      .knowledge!;
    const three = categoryEstimates(
      tallyTasks(
        [
          { rows: round(0), weight: 1 },
          { rows: round(10), weight: 0.7 },
          { rows: round(20), weight: 0.49 },
        ],
        itemCredit,
      ),
    ).categories.knowledge!;
    expect(three.mean).toBeCloseTo(0.8, 9);
    expect(three.upper - three.lower).toBeLessThan(one.upper - one.lower);
    expect(three.n).toBe(22);
  });

  it("does not count the same items asked again in later rounds as new evidence", () => {
    // A node answers the same 26 items alike in every round: its interval is that of 26 items,
    // however many rounds are pooled.
    const round = items("a", "creative", 21, 26);
    const one = categoryEstimates(tallyTasks([{ rows: round, weight: 1 }], itemCredit)).categories.creative!;
    const pooled = categoryEstimates(
      tallyTasks(
        Array.from({ length: 8 }, (_, k) => ({ rows: round, weight: 0.7 ** k })),
        itemCredit,
      ),
    ).categories.creative!;
    expect(pooled.mean).toBeCloseTo(one.mean, 9);
    expect(pooled.lower).toBeCloseTo(one.lower, 9);
    expect(pooled.upper).toBeCloseTo(one.upper, 9);
    // 21 of 26 (0.81) does not clear a bar of 0.65 on 26 items, pooled or not.
    const bars = [{ serviceId: "skill", category: "creative", minScore: 0.65 }];
    expect(qualifyingServices({ creative: pooled }, bars)).toEqual([]);
  });

  it("counts a refused item as a failure, and an undeclared capability or a gateway failure not at all", () => {
    const rows = [
      row("a", "knowledge", 0, 1),
      row("a", "knowledge", 1, null, { status: "error", errorCode: "BACKEND_ERROR" }),
      row("a", "knowledge", 2, null, { status: "unsupported", errorCode: "UNSUPPORTED_PARAMETER" }),
      row("a", "knowledge", 3, null, { status: "error", errorCode: "NO_NODES_AVAILABLE" }),
      // What the gateway answers when the pinned node itself failed, whatever code it gave.
      row("a", "knowledge", 4, null, { status: "error", errorCode: "NODE_FAILED" }),
    ];
    const [tally] = tallyTasks([{ rows, weight: 1 }], itemCredit);
    expect(tally).toMatchObject({ successes: 1, n: 3 });
  });
});

describe("tiers with hysteresis", () => {
  const bars = [{ serviceId: "tier", category: "general", minScore: 0.6 }];
  it("grants on the lower bound and revokes only when the upper bound falls below", () => {
    const near = { mean: 0.62, lower: 0.55, upper: 0.69, n: 200 };
    expect(qualifyingServices({ general: near }, bars, [])).toEqual([]);
    expect(qualifyingServices({ general: near }, bars, ["tier"])).toEqual(["tier"]);
    const below = { mean: 0.5, lower: 0.43, upper: 0.57, n: 200 };
    expect(qualifyingServices({ general: below }, bars, ["tier"])).toEqual([]);
  });
});

describe("reachable bars", () => {
  const suite = Effect.runSync(loadSuite([]));
  const settings = { itemsPerTask: 0, evidenceDecay: 0.7, evidenceRounds: 8 };

  it("computes the items a deserving node needs", () => {
    expect(itemsNeeded(0.8)).toBeGreaterThan(30);
    expect(itemsNeeded(0.8)).toBeLessThan(70);
    expect(itemsNeeded(1)).toBe(Number.POSITIVE_INFINITY);
  });

  it("accepts the starter suite in full and refuses sizes at which a bar is out of reach", () => {
    expect(unreachableBars(barReach(suite, settings, DEFAULT_TIER_BARS))).toEqual([]);
    const tiny = unreachableBars(
      barReach(suite, { itemsPerTask: 2, evidenceDecay: 0, evidenceRounds: 1 }, DEFAULT_TIER_BARS),
    );
    expect(tiny.map((r) => r.bar.serviceId)).toContain("quality-gpt-4");
    for (const r of barReach(suite, { ...settings, itemsPerTask: 8 }, DEFAULT_TIER_BARS))
      console.log(
        `${r.bar.serviceId} (${r.bar.category} ≥ ${r.bar.minScore}): needs ${r.needed}, ${r.perRun.toFixed(1)} per run, ${r.pooled.toFixed(1)} pooled at 8 items per task`,
      );
  });
});
