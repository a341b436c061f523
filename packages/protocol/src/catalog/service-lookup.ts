import type { Catalog } from "./catalog.js";
import type { ServiceOperation, ServiceSpec } from "./service-spec.js";
import type { TierSpec } from "./tier-spec.js";

/**
 * The service with this exact id, or `undefined`.
 *
 * @example
 * ```ts
 * findService(DEFAULT_CATALOG, "mistral-7b")?.displayName; // "Mistral 7B"
 * ```
 */
export function findService(catalog: Catalog, id: string): ServiceSpec | undefined {
  return catalog.services.find((service) => service.id === id);
}

/**
 * The tier of a service with this exact id, or `undefined`. The result's limits are text limits on
 * a text service and image limits on an image service.
 *
 * @example
 * ```ts
 * findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "batch")?.priceMicroUsd; // 500
 * ```
 */
export function findTier<S extends ServiceSpec>(service: S, tierId: string): S["tiers"][number] | undefined;
export function findTier(service: ServiceSpec, tierId: string): TierSpec | undefined {
  return (service.tiers as readonly TierSpec[]).find((tier) => tier.id === tierId);
}

/**
 * The tier a bare service id resolves to: `standard` when the service offers it, otherwise its
 * first tier.
 *
 * @example
 * ```ts
 * defaultTierOf(findService(DEFAULT_CATALOG, "skill-coding")!).id; // "standard"
 * ```
 */
export function defaultTierOf<S extends ServiceSpec>(service: S): S["tiers"][number];
export function defaultTierOf(service: ServiceSpec): TierSpec {
  const tiers = service.tiers as readonly TierSpec[];
  return tiers.find((tier) => tier.id === "standard") ?? (tiers[0] as TierSpec);
}

/**
 * Whether a service offers an operation (e.g. `images.edits` on `stable-diffusion`: yes;
 * `chat.completions` on it: no).
 *
 * @example
 * ```ts
 * operationSupported(findService(DEFAULT_CATALOG, "stable-diffusion")!, "images.edits"); // true
 * ```
 */
export function operationSupported(service: ServiceSpec, operation: ServiceOperation): boolean {
  return (service.operations as readonly ServiceOperation[]).includes(operation);
}
