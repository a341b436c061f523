import type { ResolvedModel } from "./model-names.js";
import type { TierSpec } from "./tier-spec.js";

/**
 * What a limit check runs against: a resolved model (its error details then name the tier as
 * `llama-2-13b:standard`) or a bare tier (details name it as `tier standard`).
 *
 * @example
 * ```ts
 * const target: LimitTarget = findTier(findService(DEFAULT_CATALOG, "mistral-7b")!, "batch")!;
 * ```
 */
export type LimitTarget = ResolvedModel | TierSpec;

/** The tier of a limit target. */
export function tierOfTarget(target: LimitTarget): TierSpec {
  return "service" in target ? target.tier : target;
}

/** How error details name a limit target: `tier llama-2-13b:standard` or `tier standard`. */
export function describeTarget(target: LimitTarget): string {
  return "service" in target ? `tier ${target.modelName}` : `tier ${target.id}`;
}
