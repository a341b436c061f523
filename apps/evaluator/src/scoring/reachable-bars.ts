import type { RunSettings } from "../config/evaluator-config.js";
import type { Task } from "../tasks/task-definition.js";
import { GENERAL_CATEGORY } from "./node-score.js";
import { itemsNeeded, type TierBar } from "./tiers.js";

/** How much evidence a bar's category gathers at the configured sizes, against what it needs. */
export interface BarReach {
  readonly bar: TierBar;
  /** Effective items a deserving node needs (`itemsNeeded`). */
  readonly needed: number;
  /** Effective items per run, and pooled over the evidence window at its steady state. */
  readonly perRun: number;
  readonly pooled: number;
}

/** Weight of all pooled rounds at steady state: 1 + d + d² + … over `evidenceRounds` runs. */
export const pooledWeight = (settings: Pick<RunSettings, "evidenceDecay" | "evidenceRounds">): number => {
  let total = 0;
  for (let k = 0; k < settings.evidenceRounds; k++) total += settings.evidenceDecay ** k;
  return total;
};

/**
 * For every bar whose category the suite measures: the effective sample size of its estimate at
 * the planned item counts. Categories are equal-weight means of tasks, and `general` of
 * categories, so the effective size is `1 / Σ wₜ² / nₜ` — smaller than the item count when tasks
 * differ in size. Pooled rounds add only the items they draw that earlier rounds did not: with
 * every item in every run the pooled size is the per-run size. Bars on categories the suite does
 * not have are left out (no node can get them).
 */
export function barReach(
  tasks: readonly Task[],
  settings: Pick<RunSettings, "itemsPerTask" | "evidenceDecay" | "evidenceRounds">,
  bars: readonly TierBar[],
): BarReach[] {
  const window = pooledWeight(settings);
  const planned = tasks.map((t) => {
    const all = t.docs.length;
    const n = settings.itemsPerTask > 0 ? Math.min(settings.itemsPerTask, all) : all;
    // Pooled: the window's weight, but never more than the distinct items its rounds draw (an item
    // asked again is not new evidence: `evidence.ts`).
    const drawn = all === 0 ? 0 : all * (1 - (1 - n / all) ** settings.evidenceRounds);
    return { category: t.definition.category as string, n, pooled: Math.min(n * window, drawn) };
  });
  const categories = [...new Set(planned.map((p) => p.category))];
  const effective = (strata: readonly { weight: number; n: number }[]) =>
    1 / strata.reduce((a, s) => a + (s.weight * s.weight) / s.n, 0);
  const sizeOf = (category: string, size: "n" | "pooled"): number | undefined => {
    if (category === GENERAL_CATEGORY) {
      if (planned.length === 0) return undefined;
      return effective(
        planned.map((p) => ({
          n: p[size],
          weight: 1 / (planned.filter((q) => q.category === p.category).length * categories.length),
        })),
      );
    }
    const mine = planned.filter((p) => p.category === category);
    return mine.length === 0
      ? undefined
      : effective(mine.map((p) => ({ n: p[size], weight: 1 / mine.length })));
  };
  return bars.flatMap((bar) => {
    const perRun = sizeOf(bar.category, "n");
    const pooled = sizeOf(bar.category, "pooled");
    return perRun === undefined || pooled === undefined
      ? []
      : [{ bar, needed: itemsNeeded(bar.minScore), perRun, pooled }];
  });
}

/** Bars a deserving node could never clear at the configured sizes, even with the whole window. */
export const unreachableBars = (reach: readonly BarReach[]): BarReach[] =>
  reach.filter((r) => r.pooled + 1e-9 < r.needed);
