import type { Catalog, KeyPair } from "@pocket-ai/protocol";
import type { MetricsRegistry } from "@pocket-ai/runtime";
import { Layer } from "effect";
import { HealthProbeLive } from "../registry/health-probe.js";
import { NodeRegistry } from "../registry/node-registry.js";
import { CutReceiptOutbox } from "../relay/cut-receipt-outbox.js";
import { DispatcherLive } from "../relay/dispatcher-live.js";
import { NodeClients } from "../relay/node-client.js";
import { scoreboardAgeGauge } from "../scores/scoreboard-age.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { GatewayCatalog, GatewayKey } from "./gateway-key-and-catalog.js";
import { type RoutingConfig, RoutingSettings } from "./routing-config.js";
import { RoutingMetrics } from "./routing-metrics.js";
import { Selector } from "./selector.js";

/**
 * The whole routing side: registry (loaded from the `nodes` table, health-probed), scores poller,
 * selector, node clients, the outbox of cut streams' receipts and the `Dispatcher`. Needs `GatewayStore`, `GatewayKey`, `GatewayCatalog`
 * and `RoutingSettings`; its Prometheus series go into the app's `metrics` registry.
 */
export function RoutingLive(metrics: MetricsRegistry) {
  const base = Layer.mergeAll(
    Layer.provideMerge(NodeRegistry.layer, NodeClients.layer),
    Layer.provideMerge(scoreboardAgeGauge(metrics), ScoresPoller.layer),
    RoutingMetrics.layer(metrics),
  );
  const selector = Layer.provideMerge(Selector.layer, base);
  const dispatcher = Layer.provideMerge(
    Layer.merge(DispatcherLive, HealthProbeLive),
    Layer.provideMerge(CutReceiptOutbox.layer, selector),
  );
  return dispatcher;
}

/**
 * `RoutingLive` with its inputs given as values: what the app passes (the parsed `routing` section
 * of its config, its key, its catalog and its metrics registry). Only `GatewayStore` is left to provide.
 * Tests that fake the Dispatcher can merge their own layer after this one: the later one wins.
 */
export function routingLayer(options: {
  readonly config: RoutingConfig;
  readonly key: KeyPair;
  readonly catalog: Catalog;
  readonly metrics: MetricsRegistry;
}) {
  return RoutingLive(options.metrics).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.succeed(RoutingSettings, options.config),
        GatewayKey.layer(options.key),
        GatewayCatalog.layer(options.catalog),
      ),
    ),
  );
}
