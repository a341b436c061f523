import { type Catalog, modelNameFor } from "@pocket-ai/protocol";
import { sql } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";

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
 * Whether the gateway can serve relays now: its database answers a query, and at least one
 * catalog service has a healthy, freshly announced node (per the dispatcher's availability, the
 * same numbers `GET /v1/models` shows). A load balancer takes a gateway that is not ready out of
 * rotation; `/health` only says the process is up. The body names each service's state.
 */
export function readiness(
  db: GatewayDb,
  catalog: Catalog,
  availability: ReadonlyMap<string, { readonly nodes: number }>,
): Readiness {
  let database: Readiness["database"] = "open";
  try {
    db.get(sql`select 1`);
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
