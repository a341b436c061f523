import { MEASURED_SERVICES, type NodeScore } from "@pocket-ai/protocol";
import { wilsonInterval } from "./wilson.js";

/** A quality or skill service's bar: the category measured and the score its interval must clear. */
export interface TierBar {
  readonly serviceId: string;
  readonly category: string;
  readonly minScore: number;
}

/** The bars of the default catalog's measured services (`quality.category`, `quality.minScore`). */
export const DEFAULT_TIER_BARS: readonly TierBar[] = MEASURED_SERVICES.flatMap((s) =>
  s.quality === undefined
    ? []
    : [{ serviceId: s.id, category: s.quality.category, minScore: s.quality.minScore }],
);

/**
 * The services a node qualifies for, with hysteresis: a tier is granted when the lower bound of
 * the category's 95% interval reaches the bar, and a tier held before (`previous`) is kept until
 * the upper bound falls below it. A node with a high mean from few items does not qualify until
 * enough items narrow its interval; a node near the bar does not flicker in and out between rounds.
 */
export function qualifyingServices(
  categories: NodeScore["categories"],
  bars: readonly TierBar[] = DEFAULT_TIER_BARS,
  previous: readonly string[] = [],
): string[] {
  return bars
    .filter((bar) => {
      const score = categories[bar.category];
      if (score === undefined || score.n === 0) return false;
      return score.lower >= bar.minScore || (previous.includes(bar.serviceId) && score.upper >= bar.minScore);
    })
    .map((bar) => bar.serviceId);
}

/**
 * The score a node that deserves a tier is assumed to have when checking that a bar is reachable:
 * halfway between the bar and a perfect score.
 */
export const deservingScore = (minScore: number): number => minScore + (1 - minScore) / 2;

/**
 * Items (effective sample size) a category needs so that a node scoring `deservingScore(bar)`
 * clears the bar with the lower bound of its 95% Wilson interval; `Infinity` for a bar of 1.
 */
export function itemsNeeded(minScore: number): number {
  if (minScore >= 1) return Number.POSITIVE_INFINITY;
  if (minScore <= 0) return 1;
  const p = deservingScore(minScore);
  for (let n = 1; n <= 100_000; n++) if (wilsonInterval(p * n, n).lower >= minScore) return n;
  return Number.POSITIVE_INFINITY;
}
