import type { ScoreEstimate } from "@pocket-ai/protocol";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { wilsonInterval, Z95 } from "./wilson.js";

/** One run's stored results and the weight its items carry in the pooled evidence. */
export interface WeightedRun {
  readonly rows: readonly ItemResultRow[];
  /** 1 for the run just finished, `decay^k` for the run k rounds before it. */
  readonly weight: number;
}

/** Weighted successes and weight per task, over every run given. */
export interface TaskTally {
  readonly task: string;
  readonly category: string;
  readonly successes: number;
  readonly n: number;
  /** Distinct items behind the tally: an item asked again in a later run is the same item. */
  readonly items: number;
}

/** What an item's score is for the pooled evidence: its score, 0 for a refusal, nothing otherwise. */
export type ItemCredit = (row: ItemResultRow) => number | null;

/** The task an item belongs to (`task/itemId`). */
export const taskOf = (row: ItemResultRow): string => row.itemKey.split("/")[0] ?? "";

/** Pools item credits per task, each run's items weighted by the run's weight. */
export function tallyTasks(runs: readonly WeightedRun[], credit: ItemCredit): TaskTally[] {
  const tallies = new Map<string, { category: string; successes: number; n: number; keys: Set<string> }>();
  for (const run of runs) {
    for (const row of run.rows) {
      if (row.kind !== "item") continue;
      const value = credit(row);
      if (value === null) continue;
      const task = taskOf(row);
      const t = tallies.get(task) ?? {
        category: row.category ?? "uncategorised",
        successes: 0,
        n: 0,
        keys: new Set<string>(),
      };
      t.successes += run.weight * value;
      t.n += run.weight;
      t.keys.add(row.itemKey);
      tallies.set(task, t);
    }
  }
  return [...tallies]
    .filter(([, t]) => t.n > 0)
    .map(([task, { keys, ...t }]) => ({ task, ...t, items: keys.size }))
    .sort((a, b) => a.task.localeCompare(b.task));
}

/** Stratum: a task's pooled tally and its weight in the estimate. */
interface Stratum {
  readonly weight: number;
  readonly successes: number;
  readonly n: number;
  readonly items: number;
}

/**
 * A stratum's sample size for its variance: its pooled weight, but never more than its distinct
 * items. The interval is about the items a task stands for; an item asked again in a later run
 * (perturbed, but the same question) mostly repeats its answer, so it is not new evidence.
 */
const strataSize = (s: Stratum): number => Math.min(s.n, s.items);

/**
 * A stratified estimate: the weighted mean of per-stratum shares, its variance, and a Wilson interval
 * at the effective sample size that variance implies (`p(1−p)/var`, never more than the items
 * behind it). Each stratum's variance uses its share pulled half an item toward ½, so a stratum
 * answered perfectly still carries its uncertainty.
 */
function stratified(strata: readonly Stratum[]): ScoreEstimate {
  const total = strata.reduce((a, s) => a + s.n, 0);
  if (strata.length === 0 || total === 0) return wilsonInterval(0, 0);
  let mean = 0;
  let smoothedMean = 0;
  let variance = 0;
  for (const s of strata) {
    const smoothed = (s.successes + 0.5) / (s.n + 1);
    mean += (s.weight * s.successes) / s.n;
    smoothedMean += s.weight * smoothed;
    variance += (s.weight * s.weight * smoothed * (1 - smoothed)) / strataSize(s);
  }
  const behind = strata.reduce((a, s) => a + strataSize(s), 0);
  const effective = Math.max(1, Math.min(behind, (smoothedMean * (1 - smoothedMean)) / variance));
  const interval = wilsonInterval(mean * effective, effective, Z95);
  return { ...interval, mean: Math.min(1, Math.max(0, mean)), n: Math.round(total) };
}

/**
 * Per-category estimates and `general`. A category is the equal-weight mean of its tasks; `general`
 * is the equal-weight mean of the categories. Neither depends on how many items a task has or how
 * many a run samples (`itemsPerTask`): sampling changes only the width of the interval, and
 * pooled rounds narrow it only as far as they bring items not asked before.
 */
export function categoryEstimates(tallies: readonly TaskTally[]): {
  readonly categories: Record<string, ScoreEstimate>;
  readonly general: ScoreEstimate | undefined;
} {
  const byCategory = new Map<string, TaskTally[]>();
  for (const t of tallies) byCategory.set(t.category, [...(byCategory.get(t.category) ?? []), t]);
  const categories: Record<string, ScoreEstimate> = {};
  const generalStrata: Stratum[] = [];
  const names = [...byCategory.keys()].sort();
  for (const name of names) {
    const tasks = byCategory.get(name)!;
    categories[name] = stratified(tasks.map((t) => ({ ...t, weight: 1 / tasks.length })));
    for (const t of tasks) generalStrata.push({ ...t, weight: 1 / (tasks.length * names.length) });
  }
  return { categories, general: names.length === 0 ? undefined : stratified(generalStrata) };
}
