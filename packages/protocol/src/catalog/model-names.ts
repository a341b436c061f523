import { fail, ok, type Result } from "../errors/index.js";
import type { Catalog } from "./catalog.js";
import { defaultTierOf, findTier } from "./service-lookup.js";
import type { EmbeddingServiceSpec, ImageServiceSpec, ServiceSpec, TextServiceSpec } from "./service-spec.js";
import type { EmbeddingTierSpec, ImageTierSpec, TextTierSpec } from "./tier-spec.js";

/**
 * A public model name resolved to its service and tier, with the canonical name
 * `<service-id>:<tier-id>` and the service's `kind`; narrowing on `kind` narrows the tier's limits.
 *
 * @example
 * ```ts
 * const r = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
 * if (r.ok && r.value.kind === "text") r.value.tier.limits.maxInputTokens; // 200
 * ```
 */
export type ResolvedModel =
  | {
      readonly kind: "text";
      readonly service: TextServiceSpec;
      readonly tier: TextTierSpec;
      readonly modelName: string;
    }
  | {
      readonly kind: "image";
      readonly service: ImageServiceSpec;
      readonly tier: ImageTierSpec;
      readonly modelName: string;
    }
  | {
      readonly kind: "embedding";
      readonly service: EmbeddingServiceSpec;
      readonly tier: EmbeddingTierSpec;
      readonly modelName: string;
    };

/**
 * The canonical public name of a service's tier: `<service-id>:<tier-id>`, e.g.
 * `"llama-2-13b:batch"`. {@link resolveModelName} maps it back.
 *
 * @example
 * ```ts
 * modelNameFor("quality-gpt-3.5", "standard"); // "quality-gpt-3.5:standard"
 * ```
 */
export function modelNameFor(serviceId: string, tierId: string): string {
  return `${serviceId}:${tierId}`;
}

function serviceByNameOrAlias(catalog: Catalog, name: string): ServiceSpec | undefined {
  const key = name.toLowerCase();
  return (
    catalog.services.find((service) => service.id === key) ??
    catalog.services.find((service) => (service.aliases ?? []).some((alias) => alias.toLowerCase() === key))
  );
}

function resolved(service: ServiceSpec, tier: ServiceSpec["tiers"][number]): ResolvedModel {
  return { kind: service.kind, service, tier, modelName: modelNameFor(service.id, tier.id) } as ResolvedModel;
}

/**
 * Resolves the `model` field of an OpenAI-style request. Accepted forms, compared
 * case-insensitively:
 * - `<service-id>` → the service's default tier (`standard`, else its first tier): `"skill-coding"`;
 * - `<service-id>:<tier-id>`: `"llama-2-13b:batch"`, `"quality-gpt-3.5:standard"`;
 * - an alias, alone or with `:<tier-id>`: `"meta-llama/Llama-2-13b-chat-hf"`, `"llama2:13b:batch"`.
 *
 * A whole-name match (id or alias) wins over splitting at the last colon, so aliases that contain
 * a colon (Ollama's `llama2:13b`) work. Unknown service → UNKNOWN_MODEL; known service with an
 * unknown tier → UNKNOWN_TIER; both with `param: "model"` and the alternatives in `detail`.
 *
 * @example
 * ```ts
 * const r = resolveModelName(DEFAULT_CATALOG, "mistral-7b:batch");
 * if (r.ok) r.value.tier.priceMicroUsd; // 500
 * ```
 */
export function resolveModelName(catalog: Catalog, model: string): Result<ResolvedModel> {
  if (model.trim() === "") return fail("UNKNOWN_MODEL", "the model name is empty", "model");
  const whole = serviceByNameOrAlias(catalog, model);
  if (whole !== undefined) return ok(resolved(whole, defaultTierOf(whole)));
  const colon = model.lastIndexOf(":");
  const base = colon > 0 ? serviceByNameOrAlias(catalog, model.slice(0, colon)) : undefined;
  if (base === undefined) {
    const known = catalog.services.map((service) => service.id).join(", ");
    return fail("UNKNOWN_MODEL", `no service is named '${model}'; services: ${known}`, "model");
  }
  const tierId = model.slice(colon + 1).toLowerCase();
  const tier = findTier(base, tierId);
  if (tier === undefined) {
    const tiers = base.tiers.map((t) => t.id).join(", ");
    return fail("UNKNOWN_TIER", `service ${base.id} has no tier '${tierId}'; tiers: ${tiers}`, "model");
  }
  return ok(resolved(base, tier));
}

/**
 * Every public model name of a catalog, for `GET /v1/models`: per service, its bare id (its
 * default tier) followed by `<service-id>:<tier-id>` for each tier. Aliases are not listed.
 *
 * @example
 * ```ts
 * listModelNames(DEFAULT_CATALOG).slice(0, 3); // ["llama-2-13b", "llama-2-13b:standard", "llama-2-13b:batch"]
 * ```
 */
export function listModelNames(catalog: Catalog): string[] {
  return catalog.services.flatMap((service) => [
    service.id,
    ...service.tiers.map((tier) => modelNameFor(service.id, tier.id)),
  ]);
}
