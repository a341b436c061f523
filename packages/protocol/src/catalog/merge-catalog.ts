import { z } from "zod";
import { fail, type Result } from "../errors/index.js";
import { type Catalog, parseCatalog } from "./catalog.js";
import { ServiceSpec } from "./service-spec.js";
import { ImageTierLimits, TextTierLimits, TierHardware } from "./tier-spec.js";
import { describeZodIssues, zodIssuePath } from "./zod-issues.js";

/**
 * A change to one existing tier: any subset of its fields. `limits` and `hardware` are merged
 * field by field, so `{ limits: { maxInputTokens: 400 } }` keeps the output limit.
 *
 * @example
 * ```ts
 * TierPatch.parse({ priceMicroUsd: 600, limits: { maxOutputTokens: 500 } });
 * ```
 */
export const TierPatch = z.strictObject({
  description: z.string().min(1).max(1000).optional(),
  priceMicroUsd: z.number().int().nonnegative().optional(),
  computeUnitsPerRelay: z.number().int().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  limits: z.union([TextTierLimits.partial(), ImageTierLimits.partial()]).optional(),
  hardware: TierHardware.partial().optional(),
});

/** A parsed {@link TierPatch}. */
export type TierPatch = z.infer<typeof TierPatch>;

/**
 * An operator's changes to a base catalog, applied by {@link mergeCatalog} in this order:
 * 1. `services`: each entry adds a new service, or replaces the base service with the same id whole;
 * 2. `tiers`: keyed by canonical model name `<service-id>:<tier-id>`, patches an existing tier;
 * 3. `disable`: removes a service (`"mistral-7b"`) or one tier (`"llama-2-13b:long-context"`).
 * `version` labels the result (default: the base's version + `"+local"`).
 *
 * @example
 * ```ts
 * const overrides: CatalogOverrides = {
 *   tiers: { "llama-2-13b:batch": { priceMicroUsd: 400 } },
 *   disable: ["quality-gpt-4"],
 * };
 * ```
 */
export const CatalogOverrides = z.strictObject({
  version: z.string().min(1).max(100).optional(),
  services: z.array(ServiceSpec).optional(),
  tiers: z.record(z.string(), TierPatch).optional(),
  disable: z.array(z.string().min(1)).optional(),
});

/** A parsed {@link CatalogOverrides}. */
export type CatalogOverrides = z.input<typeof CatalogOverrides>;

type MutableTier = { limits: object; hardware: object } & Record<string, unknown>;
type MutableService = { id: string; tiers: MutableTier[] } & Record<string, unknown>;

function splitModelName(name: string): { serviceId: string; tierId: string | undefined } {
  const colon = name.indexOf(":");
  return colon < 0
    ? { serviceId: name, tierId: undefined }
    : { serviceId: name.slice(0, colon), tierId: name.slice(colon + 1) };
}

/**
 * Applies operator overrides to a base catalog (see {@link CatalogOverrides} for the order) and
 * validates the result. Unknown targets are refused rather than ignored, so a typo in a config file
 * is an INVALID_CONFIG at start-up, with the offending key as `param` — not a silent no-op. The base
 * is never modified.
 *
 * @example
 * ```ts
 * const r = mergeCatalog(DEFAULT_CATALOG, { tiers: { "mistral-7b:standard": { priceMicroUsd: 700 } } });
 * if (r.ok) findTier(findService(r.value, "mistral-7b")!, "standard")!.priceMicroUsd; // 700
 * ```
 */
export function mergeCatalog(base: Catalog, overrides: CatalogOverrides): Result<Catalog> {
  const parsed = CatalogOverrides.safeParse(overrides);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const detail = `catalog overrides: ${describeZodIssues(parsed.error.issues)}`;
    return fail("INVALID_CONFIG", detail, first === undefined ? undefined : zodIssuePath(first) || undefined);
  }
  const changes = parsed.data;
  const services = structuredClone(base.services) as unknown as MutableService[];

  for (const replacement of changes.services ?? []) {
    const copy = structuredClone(replacement) as unknown as MutableService;
    const at = services.findIndex((service) => service.id === copy.id);
    if (at < 0) services.push(copy);
    else services[at] = copy;
  }

  for (const [name, patch] of Object.entries(changes.tiers ?? {})) {
    const { serviceId, tierId } = splitModelName(name);
    const service = services.find((s) => s.id === serviceId);
    const tier = service?.tiers.find((t) => t.id === tierId);
    if (tier === undefined) {
      return fail(
        "INVALID_CONFIG",
        `catalog overrides: tiers: '${name}' is not a <service-id>:<tier-id> of the catalog`,
        `tiers.${name}`,
      );
    }
    const { limits, hardware, ...fields } = patch;
    Object.assign(tier, fields);
    if (limits !== undefined) tier.limits = { ...tier.limits, ...limits };
    if (hardware !== undefined) tier.hardware = { ...tier.hardware, ...hardware };
  }

  let kept = services;
  for (const [index, name] of (changes.disable ?? []).entries()) {
    const { serviceId, tierId } = splitModelName(name);
    const service = kept.find((s) => s.id === serviceId);
    const param = `disable.${index}`;
    if (service === undefined)
      return fail("INVALID_CONFIG", `catalog overrides: disable: no service '${serviceId}'`, param);
    if (tierId === undefined) {
      kept = kept.filter((s) => s !== service);
      continue;
    }
    if (!service.tiers.some((t) => t.id === tierId)) {
      return fail(
        "INVALID_CONFIG",
        `catalog overrides: disable: service ${serviceId} has no tier '${tierId}'`,
        param,
      );
    }
    if (service.tiers.length === 1) {
      return fail(
        "INVALID_CONFIG",
        `catalog overrides: disable: '${name}' is the last tier; disable '${serviceId}' instead`,
        param,
      );
    }
    service.tiers = service.tiers.filter((t) => t.id !== tierId);
  }

  return parseCatalog({ version: changes.version ?? `${base.version}+local`, services: kept });
}
