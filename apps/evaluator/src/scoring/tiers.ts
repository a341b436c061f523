import { MEASURED_SERVICES, type NodeScore } from "@pocket-ai/protocol";

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
 * The services a node qualifies for: those whose category score has a 95% interval with its
 * lower bound at or above the bar. A node with a high mean from few items does not qualify
 * until enough items narrow its interval — the point of publishing intervals.
 */
export function qualifyingServices(
  categories: NodeScore["categories"],
  bars: readonly TierBar[] = DEFAULT_TIER_BARS,
): string[] {
  return bars
    .filter((bar) => (categories[bar.category]?.lower ?? -1) >= bar.minScore)
    .map((bar) => bar.serviceId);
}
