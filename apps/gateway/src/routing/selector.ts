import { deriveSessionId, modelNameFor, selectSessionNodes, sessionNumberAt } from "@pocket-ai/protocol";
import { Clock, Context, Effect, Layer } from "effect";
import { NodeRegistry } from "../registry/node-registry.js";
import type { RegisteredNode } from "../registry/registered-node.js";
import { DispatchError, type DispatchRequest } from "../relay/dispatcher.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { GatewayCatalog } from "./gateway-key-and-catalog.js";
import { type LatencyKind, NodeStats } from "./node-stats.js";
import { OrganicSampler } from "./organic-sampler.js";
import { ProbeApplications } from "./probe-applications.js";
import { planRoutes, type Route } from "./route-plan.js";
import { RoutingSettings } from "./routing-config.js";
import { type NodeSignal, pickNode } from "./selection-math.js";
import { TrafficMixCounter } from "./traffic-mix.js";

const make = Effect.gen(function* () {
  const registry = yield* NodeRegistry;
  const scores = yield* ScoresPoller;
  const settings = yield* RoutingSettings;
  const catalog = yield* GatewayCatalog;
  const stats = new NodeStats();
  const probeApps = new ProbeApplications();
  const trafficMix = new TrafficMixCounter();
  const organic = new OrganicSampler(settings.organic);
  const sessions = new Map<string, { version: number; nodes: readonly RegisteredNode[] }>();

  const sessionNodes = (sessionId: string, candidates: readonly RegisteredNode[]) => {
    const version = registry.version();
    const cached = sessions.get(sessionId);
    if (cached !== undefined && cached.version === version) return cached.nodes;
    const chosen = selectSessionNodes(sessionId, candidates, settings.nodesPerSession);
    sessions.set(sessionId, { version, nodes: chosen });
    if (sessions.size > 50_000) sessions.delete(sessions.keys().next().value as string);
    return chosen;
  };

  const plan = Effect.fn("Selector.plan")(function* (
    request: DispatchRequest,
    stream: boolean,
    sessionAt?: number,
  ) {
    const now = yield* Clock.currentTimeMillis;
    const routes = planRoutes(
      {
        config: settings,
        catalog,
        candidates: (serviceId) => registry.candidates(serviceId, now),
        sessionNodes,
        qualifying: (id) =>
          scores.qualifying(id).map((s) => ({ address: s.address, serviceId: s.serviceId })),
        get: registry.get,
        probeApplication: (node, serviceId, candidates, at) =>
          probeApps.pick(at, (app) =>
            sessionNodes(
              deriveSessionId(app, serviceId, sessionNumberAt(settings.session, at)),
              candidates,
            ).some((n) => n.address === node),
          ),
      },
      request,
      sessionAt ?? now,
      stream,
    );
    if (routes.length === 0) {
      const what =
        request.targetNode === undefined
          ? request.target.modelName
          : `${request.target.modelName} on ${request.targetNode}`;
      return yield* new DispatchError({
        code: "NO_NODES_AVAILABLE",
        detail: `no node can serve ${what} now`,
        attempts: 0,
      });
    }
    return routes;
  });

  /** Draws one route among those not tried yet: healthy nodes first, weighted as in `selection-math.ts`. */
  const pick = (routes: readonly Route[], tried: ReadonlySet<string>, kind: LatencyKind, now: number) => {
    const open = routes.filter((r) => !tried.has(r.node.address));
    const healthy = open.filter((r) => registry.isHealthy(r.node.address));
    const pool = healthy.length > 0 ? healthy : open;
    const signals: NodeSignal[] = pool.map((r) => {
      const view = stats.view(r.node.address, now);
      return {
        address: r.node.address,
        operator: r.node.operator,
        score: scores.routingScore(r.node.address, r.servedServiceId),
        latencyMs: view.latencyMs[kind],
        errorRate: view.errorRate,
        sanctioned: view.sanctionedUntil !== undefined,
      };
    });
    const index = pickNode(signals, settings.selection, Math.random);
    return index === undefined ? undefined : pool[index];
  };

  /** Public model names with at least one healthy fresh node (quality services: a qualifying one). */
  const availability = (now: number): Map<string, { nodes: number }> => {
    const out = new Map<string, { nodes: number }>();
    const live = (n: RegisteredNode | undefined): n is RegisteredNode =>
      n !== undefined && registry.isFresh(n, now) && registry.isHealthy(n.address);
    for (const service of catalog.services) {
      for (const tier of service.tiers) {
        const nodes: RegisteredNode[] =
          service.class === "model"
            ? registry
                .candidates(service.id, now)
                .filter((n) => live(n) && n.offers.get(service.id)?.tiers.includes(tier.id) === true)
            : scores
                .qualifying(service.id)
                .map((s) => registry.get(s.address))
                .filter(live)
                .filter((n) => n.offers.size > 0);
        const distinct = new Set(nodes.map((n) => n.address)).size;
        if (distinct > 0) out.set(modelNameFor(service.id, tier.id), { nodes: distinct });
      }
    }
    return out;
  };

  return {
    plan,
    pick,
    availability,
    stats,
    /** Shapes of customer text relays (never prompts), for probes to be sent alike. */
    trafficMix,
    /** Customer relays held for organic checks. */
    organic,
    sanctionMs: settings.selection.sanctionMs,
    /** A node sent an invalid answer (signature, schema, limits): no traffic for `sanctionMs`. */
    sanction: (address: string, now: number, reason: string) =>
      stats.sanction(address, now, settings.selection.sanctionMs, reason),
  };
});

/**
 * Picks nodes: plans a relay's routes (session nodes, quality membership, capabilities) and draws
 * among them by score, latency and errors, with sanctions, probation and the operator cap.
 */
export class Selector extends Context.Tag("gateway/Selector")<
  Selector,
  Effect.Effect.Success<typeof make>
>() {
  static readonly layer = Layer.effect(Selector, make);
}
