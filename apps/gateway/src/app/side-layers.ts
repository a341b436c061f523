import type { Catalog, KeyPair } from "@pocket-ai/protocol";
import type { Logger, MetricsRegistry } from "@pocket-ai/runtime";
import { Layer } from "effect";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { GatewayStore } from "../db/database.js";
import type { Dispatcher } from "../relay/dispatcher.js";
import { routingLayer } from "../routing/routing-live.js";
import type { RoutingServices } from "../routing/routing-services.js";
import { ClaimExpiryLive, SettlementLive } from "../settlement/settlement.js";
import { SettlementConfig, SettlementIdentity } from "../settlement/settlement-config.js";
import type { SettlementServices } from "../settlement/settlement-services.js";

/** What the routing and settlement sides build their layers from. */
export interface SideEnv {
  readonly config: GatewayConfig;
  readonly key: KeyPair;
  readonly catalog: Catalog;
  readonly registry: MetricsRegistry;
  readonly log: Logger;
}

/** The routing side: the Dispatcher the front door relays through, and its tRPC services. */
export type RoutingLayer = Layer.Layer<Dispatcher | RoutingServices, unknown, GatewayStore>;
/** The settlement side's services (claims, proofs, weekly tally). */
export type SettlementLayer = Layer.Layer<SettlementServices, unknown, GatewayStore>;

/**
 * The routing side as `startGateway` runs it: node registry (from node announcements), health
 * probes, the evaluator's scores, selection and the signing, verifying Dispatcher.
 */
export const defaultRoutingLayer = (env: SideEnv): RoutingLayer =>
  routingLayer({ config: env.config.routing, key: env.key, catalog: env.catalog, metrics: env.registry });

/**
 * Settlement as `startGateway` runs it: claims and proofs against the relay ledger, charged to
 * this portal operator, over the routing side's session parameters; claims whose proof never
 * came are rejected every minute.
 */
export const defaultSettlementLayer = (env: SideEnv): SettlementLayer =>
  ClaimExpiryLive.pipe(
    Layer.provideMerge(SettlementLive),
    Layer.provide(
      Layer.merge(
        SettlementConfig.layer(env.config.settlement),
        SettlementIdentity.layer({
          address: env.key.address,
          key: env.key,
          operator: env.config.operator,
          session: env.config.routing.session,
        }),
      ),
    ),
  );
