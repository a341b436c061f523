import {
  coveredTier,
  deriveSessionId,
  modelNameFor,
  selectSessionNodes,
  sessionNumberAt,
} from "@pocket-ai/protocol";
import { spannedFn } from "@pocket-ai/runtime";
import { Context, Effect, Layer } from "effect";
import { NodeRegistry } from "../registry/node-registry.js";
import type { RegisteredNode } from "../registry/registered-node.js";
import { notKnown } from "../registry/registry-errors.js";
import { DispatchError, type DispatchRequest } from "../relay/dispatcher.js";
import { servedTierShortfall, type TierShortfall } from "../relay/route-tokens.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { EngineRefusalLedger } from "./engine-refusals.js";
import { GatewayCatalog } from "./gateway-key-and-catalog.js";
import { type LatencyKind, NodeStats } from "./node-stats.js";
import { OrganicSampler } from "./organic-sampler.js";
import { probeApplicationPool } from "./probe-application-pool.js";
import { planRoutes, type Route, unmetNeed } from "./route-plan.js";
import { RoutingSettings } from "./routing-config.js";
import { type NodeSignal, pickNode } from "./selection-math.js";
import { TrafficMixCounter } from "./traffic-mix.js";

/** The Random service a program gets when nothing sets another (`Layer.setRandom`). */
const DEFAULT_RANDOM = Effect.runSync(Effect.random);

const make = Effect.gen(function* () {
  const registry = yield* NodeRegistry;
  const scores = yield* ScoresPoller;
  const settings = yield* RoutingSettings;
  const catalog = yield* GatewayCatalog;
  const engineRefusals = new EngineRefusalLedger();
  // Draws (node picks, probe applications) come from Effect's Random service: random in
  // production, seeded where a test provides one (`Layer.setRandom`).
  // A draw through the service runs a fiber (~1 µs, more on a busy heap): the default service
  // draws from Math.random directly.
  const random = yield* Effect.random;
  const draw = random === DEFAULT_RANDOM ? Math.random : () => Effect.runSync(random.next);
  const { apps: probeApps } = yield* probeApplicationPool(draw);
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

  // Read once: a `Clock` step per relay is two fiber steps on the hot path.
  const clock = yield* Effect.clock;
  // Stats of nodes that left (short-lived keys, nodes that stopped announcing) are swept out.
  const stats = new NodeStats({
    active: (address, now) => {
      const node = registry.get(address);
      return node !== undefined && registry.isFresh(node, now);
    },
    now: () => clock.unsafeCurrentTimeMillis(),
  });

  /** The routes for `request`, or why there are none. */
  const routesFor = (
    request: DispatchRequest,
    stream: boolean,
    sessionAt: number | undefined,
  ): readonly Route[] | DispatchError => {
    const now = clock.unsafeCurrentTimeMillis();
    const sources = {
      config: settings,
      catalog,
      candidates: (serviceId: string) => registry.candidates(serviceId, now),
      sessionNodes,
      qualifying: (id: string) =>
        scores.qualifying(id).map((s) => ({ address: s.address, serviceId: s.serviceId })),
      get: registry.get,
      probeApplication: (
        node: string,
        serviceId: string,
        candidates: readonly RegisteredNode[],
        at: number,
      ) =>
        probeApps.pick(at, (app) =>
          sessionNodes(
            deriveSessionId(app, serviceId, sessionNumberAt(settings.session, at)),
            candidates,
          ).some((n) => n.address === node),
        ),
    };
    const routes = planRoutes(sources, request, sessionAt ?? now, stream);
    if (routes.length === 0 && request.targetNode === undefined) {
      // Nodes that serve the model but lack what the request needs: a 400 naming the feature,
      // never a request sent to a node that would ignore it.
      const incapable = planRoutes(sources, request, sessionAt ?? now, stream, true);
      const unmet = incapable
        .map((r) => unmetNeed(r.node.offers.get(r.servedServiceId)!.capabilities, request, stream))
        .find((need) => need !== undefined);
      if (unmet !== undefined) {
        const detail = `no node serving ${request.target.modelName} supports ${unmet.what}`;
        return new DispatchError({
          code: "NO_CAPABLE_NODE",
          detail,
          attempts: 0,
          clientDetail: detail,
          param: unmet.param,
        });
      }
      // A quality or skill service whose qualifying nodes all serve it under smaller limits.
      // The advice of the roomiest node: following it gets the request served.
      const short = incapable
        .flatMap((r) => servedTierShortfall(r, request) ?? [])
        .reduce<TierShortfall | undefined>(
          (a, b) => (a === undefined || b.available > a.available ? b : a),
          undefined,
        );
      if (short !== undefined) {
        const detail = `no node serving ${request.target.modelName} now takes ${short.what}`;
        return new DispatchError({
          code: "NO_CAPABLE_NODE",
          detail,
          attempts: 0,
          clientDetail: detail,
          param: short.param,
        });
      }
    }
    if (
      routes.length === 0 &&
      request.targetNode !== undefined &&
      registry.get(request.targetNode) !== undefined
    ) {
      // A node this gateway knows but cannot route the probe to has withdrawn the service or tier,
      // or let its registration lapse: its own doing, which a measuring client counts against it
      // (a node could otherwise re-announce without a service between the relays of one item).
      return new DispatchError({
        code: "NODE_FAILED",
        detail: `node ${request.targetNode} does not serve ${request.target.modelName} now (it stopped announcing it, or its registration lapsed)`,
        attempts: 0,
      });
    }
    if (routes.length === 0) {
      const what =
        request.targetNode === undefined
          ? request.target.modelName
          : `${request.target.modelName} on ${request.targetNode}`;
      // A pinned node this gateway does not know (never announced, or forgotten): nothing it did
      // here to count against it, and the evaluator that pinned it reads why.
      if (request.targetNode !== undefined && registry.get(request.targetNode) === undefined) {
        const detail = notKnown(request.targetNode, registry.forgetAfterMs);
        return new DispatchError({
          code: "NO_NODES_AVAILABLE",
          detail: `no node can serve ${what} now: ${detail}`,
          attempts: 0,
          clientDetail: detail,
        });
      }
      return new DispatchError({
        code: "NO_NODES_AVAILABLE",
        detail: `no node can serve ${what} now`,
        attempts: 0,
      });
    }
    return routes;
  };

  const plan = spannedFn("Selector.plan", (request: DispatchRequest, stream: boolean, sessionAt?: number) => {
    const routes = routesFor(request, stream, sessionAt);
    return routes instanceof DispatchError ? Effect.fail(routes) : Effect.succeed(routes);
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
    const index = pickNode(signals, settings.selection, draw);
    return index === undefined ? undefined : pool[index];
  };

  /**
   * Public model names with at least one healthy fresh node (quality services: a qualifying one),
   * and how many of those nodes support each feature they may declare (`n`, `tools`, `jsonMode`…).
   */
  const availability = (
    now: number,
  ): Map<string, { nodes: number; capabilities: Record<string, number> }> => {
    const out = new Map<string, { nodes: number; capabilities: Record<string, number> }>();
    const live = (n: RegisteredNode | undefined): n is RegisteredNode =>
      n !== undefined && registry.isFresh(n, now) && registry.isHealthy(n.address);
    for (const service of catalog.services) {
      for (const tier of service.tiers) {
        const nodes: RegisteredNode[] =
          service.class === "model"
            ? registry
                .candidates(service.id, now)
                // A node serves the tiers it registered and the cheaper ones they cover.
                .filter((n) => {
                  const offer = n.offers.get(service.id);
                  return (
                    live(n) && offer !== undefined && coveredTier(service, offer.tiers, tier.id) !== undefined
                  );
                })
            : scores
                .qualifying(service.id)
                .map((s) => registry.get(s.address))
                .filter(live)
                .filter((n) => n.offers.size > 0);
        const distinct = [...new Map(nodes.map((n) => [n.address, n])).values()];
        if (distinct.length === 0) continue;
        const capabilities: Record<string, number> = {};
        for (const node of distinct) {
          // A quality service's nodes serve it under their own model service: any offer counts.
          const offer = node.offers.get(service.id) ?? node.offers.values().next().value;
          for (const [flag, value] of Object.entries(offer?.capabilities ?? {})) {
            if (flag === "images" || typeof value !== "boolean") continue;
            capabilities[flag] = (capabilities[flag] ?? 0) + (value ? 1 : 0);
          }
          for (const [op, value] of Object.entries(offer?.capabilities.images ?? {}))
            capabilities[`images.${op}`] = (capabilities[`images.${op}`] ?? 0) + (value ? 1 : 0);
        }
        out.set(modelNameFor(service.id, tier.id), { nodes: distinct.length, capabilities });
      }
    }
    return out;
  };

  return {
    plan,
    /** {@link plan}'s routes, or why there are none, as a plain value: no step of the runtime. */
    routes: (request: DispatchRequest, stream: boolean, sessionAt?: number) =>
      routesFor(request, stream, sessionAt),
    pick,
    availability,
    stats,
    /** Engine refusals per service and node, against which a node's share is judged. */
    engineRefusals,
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
  static readonly layer = Layer.scoped(Selector, make);
}
