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
 * differ in size. Bars on categories the suite does not have are left out (no node can get them).
 */
export function barReach(
  tasks: readonly Task[],
  settings: Pick<RunSettings, "itemsPerTask" | "evidenceDecay" | "evidenceRounds">,
  bars: readonly TierBar[],
): BarReach[] {
  const planned = tasks.map((t) => ({
    category: t.definition.category as string,
    n: settings.itemsPerTask > 0 ? Math.min(settings.itemsPerTask, t.docs.length) : t.docs.length,
  }));
  const categories = [...new Set(planned.map((p) => p.category))];
  const effective = (strata: readonly { weight: number; n: number }[]) =>
    1 / strata.reduce((a, s) => a + (s.weight * s.weight) / s.n, 0);
  const perRunOf = (category: string): number | undefined => {
    if (category === GENERAL_CATEGORY) {
      if (planned.length === 0) return undefined;
      return effective(
        planned.map((p) => ({
          n: p.n,
          weight: 1 / (planned.filter((q) => q.category === p.category).length * categories.length),
        })),
      );
    }
    const mine = planned.filter((p) => p.category === category);
    return mine.length === 0 ? undefined : effective(mine.map((p) => ({ n: p.n, weight: 1 / mine.length })));
  };
  const window = pooledWeight(settings);
  return bars.flatMap((bar) => {
    const perRun = perRunOf(bar.category);
    return perRun === undefined
      ? []
      : [{ bar, needed: itemsNeeded(bar.minScore), perRun, pooled: perRun * window }];
  });
}

/** Bars a deserving node could never clear at the configured sizes, even with the whole window. */
export const unreachableBars = (reach: readonly BarReach[]): BarReach[] =>
  reach.filter((r) => r.pooled + 1e-9 < r.needed);
