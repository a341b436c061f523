import { type Catalog, modelNameFor } from "@pocket-ai/protocol";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";

/** One catalog service's readiness: healthy nodes per tier right now. */
export interface ServiceReadiness {
  readonly status: "ready" | "unavailable";
  readonly tiers: Readonly<Record<string, number>>;
}

/** The body of `GET /ready`; `ready` decides the status (200 or 503). */
export interface Readiness {
  readonly ready: boolean;
  readonly database: "open" | "unavailable";
  readonly services: Readonly<Record<string, ServiceReadiness>>;
}

/**
 * Whether this replica can serve relays now: its database answers a query (the SQLite file, or
 * the PostgreSQL server every replica shares), and at least one
 * catalog service has a healthy, freshly announced node (per the dispatcher's availability, the
 * same numbers `GET /v1/models` shows). A load balancer takes a gateway that is not ready out of
 * rotation; `/health` only says the process is up. The body names each service's state.
 */
export async function readiness(
  db: SqlClient,
  catalog: Catalog,
  availability: ReadonlyMap<string, { readonly nodes: number }>,
): Promise<Readiness> {
  let database: Readiness["database"] = "open";
  try {
    await db.get(sql`select 1 as "one"`);
  } catch {
    database = "unavailable";
  }
  const services: Record<string, ServiceReadiness> = {};
  for (const service of catalog.services) {
    const tiers: Record<string, number> = {};
    for (const tier of service.tiers)
      tiers[tier.id] = availability.get(modelNameFor(service.id, tier.id))?.nodes ?? 0;
    services[service.id] = {
      status: Object.values(tiers).some((n) => n > 0) ? "ready" : "unavailable",
      tiers,
    };
  }
  const anyService = Object.values(services).some((s) => s.status === "ready");
  return { ready: database === "open" && anyService, database, services };
}
