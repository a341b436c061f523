import { findTier } from "./service-lookup.js";
import type { ServiceSpec } from "./service-spec.js";
import { isEmbeddingTier, isImageTier, isTextTier, type TierSpec } from "./tier-spec.js";

/**
 * Whether a node registered for `registered` may serve relays sold under `asked`, another tier of
 * the same service: both are of one kind (text, image or embedding); every limit of `asked` is
 * within `registered`'s (an image tier's standard image and an embedding tier's vector length are
 * the same), so the node can do the work whole; and `asked` weighs no more per relay (or per
 * standard image) than `registered` — the dearer offer serves the cheaper one, never the other way
 * round. Every tier covers itself. A standard text node thereby serves batch calls, and a
 * long-context one both.
 *
 * Such a relay is weighed by the tier it was sold under, the one its envelope names, never by the
 * registered tier: the node is paid what the customer paid for.
 *
 * @example
 * ```ts
 * const llama = findService(DEFAULT_CATALOG, "llama-2-13b")!;
 * tierCovers(findTier(llama, "standard")!, findTier(llama, "batch")!); // true
 * tierCovers(findTier(llama, "batch")!, findTier(llama, "standard")!); // false: batch weighs less
 * ```
 */
export function tierCovers(registered: TierSpec, asked: TierSpec): boolean {
  if (asked.computeUnitsPerRelay > registered.computeUnitsPerRelay) return false;
  if (isTextTier(asked) && isTextTier(registered))
    return (
      asked.limits.maxInputTokens <= registered.limits.maxInputTokens &&
      asked.limits.maxOutputTokens <= registered.limits.maxOutputTokens
    );
  if (isImageTier(asked) && isImageTier(registered)) {
    const a = asked.limits;
    const r = registered.limits;
    return (
      a.maxWidth <= r.maxWidth &&
      a.maxHeight <= r.maxHeight &&
      a.maxSteps <= r.maxSteps &&
      a.maxImages <= r.maxImages &&
      a.standardWidth === r.standardWidth &&
      a.standardHeight === r.standardHeight
    );
  }
  if (isEmbeddingTier(asked) && isEmbeddingTier(registered))
    return (
      asked.limits.maxTokensPerInput <= registered.limits.maxTokensPerInput &&
      asked.limits.maxInputs <= registered.limits.maxInputs &&
      asked.limits.dimensions === registered.limits.dimensions
    );
  return false;
}

/**
 * The tier of `service` named `tierId` when a node registered for `registeredTierIds` may serve it
 * (one of them is it, or covers it: {@link tierCovers}); `undefined` when none does or the service
 * has no such tier. Nodes admit a relay's envelope by it, and weigh the relay by the tier it
 * returns; gateways route by it.
 *
 * @example
 * ```ts
 * const llama = findService(DEFAULT_CATALOG, "llama-2-13b")!;
 * coveredTier(llama, ["standard"], "batch")?.computeUnitsPerRelay; // 500
 * coveredTier(llama, ["batch"], "standard"); // undefined
 * ```
 */
export function coveredTier(
  service: ServiceSpec,
  registeredTierIds: Iterable<string>,
  tierId: string,
): TierSpec | undefined {
  const asked = findTier(service, tierId);
  if (asked === undefined) return undefined;
  for (const id of registeredTierIds) {
    if (id === tierId) return asked;
    const registered = findTier(service, id);
    if (registered !== undefined && tierCovers(registered, asked)) return asked;
  }
  return undefined;
}
