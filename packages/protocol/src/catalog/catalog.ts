import { z } from "zod";
import { fail, ok, type Result } from "../errors/index.js";
import { ServiceSpec } from "./service-spec.js";
import { describeZodIssues, zodIssuePath } from "./zod-issues.js";

function checkCatalog(catalog: { services: ServiceSpec[] }, ctx: z.RefinementCtx): void {
  const ids = new Set<string>();
  catalog.services.forEach((service, index) => {
    if (ids.has(service.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["services", index, "id"],
        message: `duplicate service id '${service.id}'`,
      });
    }
    ids.add(service.id);
  });
  const names = new Map<string, string>();
  for (const service of catalog.services) names.set(service.id, service.id);
  catalog.services.forEach((service, index) => {
    (service.aliases ?? []).forEach((alias, aliasIndex) => {
      const key = alias.toLowerCase();
      const owner = names.get(key);
      if (owner !== undefined && owner !== service.id) {
        ctx.addIssue({
          code: "custom",
          path: ["services", index, "aliases", aliasIndex],
          message: `alias '${alias}' already names service '${owner}'`,
        });
      }
      names.set(key, service.id);
    });
  });
}

/**
 * The service catalog: a version label and the services on offer. Service ids are unique; an
 * alias (compared case-insensitively) names exactly one service and never another service's id.
 *
 * @example
 * ```ts
 * const catalog = Catalog.parse({ version: "my-portal/1", services: [] });
 * ```
 */
export const Catalog = z
  .strictObject({
    version: z.string().min(1).max(100),
    services: z.array(ServiceSpec),
  })
  .superRefine(checkCatalog);

/** A parsed {@link Catalog}. */
export type Catalog = z.infer<typeof Catalog>;

/**
 * Validates a catalog read from operator configuration. On failure the error is INVALID_CONFIG,
 * with the path of the first bad field as `param` (e.g. `services.0.tiers.1.priceMicroUsd`) and
 * the first issues spelled out in `detail`.
 *
 * @example
 * ```ts
 * const r = parseCatalog(JSON.parse(configText));
 * if (!r.ok) console.error(r.error.detail); // "services.0.tiers.0.priceMicroUsd: Invalid input: expected int, ..."
 * ```
 */
export function parseCatalog(input: unknown): Result<Catalog> {
  const parsed = Catalog.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  const first = parsed.error.issues[0];
  const param = first === undefined ? undefined : zodIssuePath(first);
  return fail("INVALID_CONFIG", `catalog: ${describeZodIssues(parsed.error.issues)}`, param || undefined);
}
