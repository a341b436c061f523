import {
  type CapabilityNeed,
  type Catalog,
  capabilityNeeds,
  coveredTier,
  deriveSessionHeader,
  findService,
  missingCapability,
  type NodeCapabilities,
  type NodeServiceOffer,
  type SessionHeader,
  type SessionParams,
  sessionNumberAt,
  type TierSpec,
} from "@pocket-ai/protocol";
import type { RegisteredNode } from "../registry/registered-node.js";
import type { DispatchRequest } from "../relay/dispatcher.js";
import { servedTierShortfall } from "../relay/route-tokens.js";
import type { RoutingConfig } from "./routing-config.js";

/** Session headers derived per session rules (see {@link sessionHeader}), at most this many each. */
const SESSION_HEADERS_KEPT = 10_000;
const sessionHeaders = new WeakMap<SessionParams, Map<string, SessionHeader>>();

/**
 * `deriveSessionHeader`, remembered: a header depends only on the rules, the application, the
 * service and the session's number, so every relay of one application to one service in one
 * session shares it (headers are never changed once made).
 */
function sessionHeader(
  params: SessionParams,
  application: string,
  serviceId: string,
  now: number,
): SessionHeader {
  let byKey = sessionHeaders.get(params);
  if (byKey === undefined) {
    byKey = new Map();
    sessionHeaders.set(params, byKey);
  }
  const key = `${sessionNumberAt(params, now)} ${serviceId} ${application}`;
  let header = byKey.get(key);
  if (header === undefined) {
    header = deriveSessionHeader(params, application, serviceId, now);
    if (byKey.size >= SESSION_HEADERS_KEPT) byKey.delete(byKey.keys().next().value as string);
    byKey.set(key, header);
  }
  return header;
}

/** One way to serve a relay: a node, the session it is served in, and the service and tier it is served under. */
export interface Route {
  readonly node: RegisteredNode;
  readonly header: SessionHeader;
  readonly servedServiceId: string;
  readonly servedTier: TierSpec;
}

export interface PlanSources {
  readonly config: RoutingConfig;
  readonly catalog: Catalog;
  readonly candidates: (serviceId: string) => readonly RegisteredNode[];
  /** The session's nodes among the candidates (cached by the caller). */
  readonly sessionNodes: (
    sessionId: string,
    candidates: readonly RegisteredNode[],
  ) => readonly RegisteredNode[];
  /** Quality/skill membership from the evaluator: (node, served service) pairs that qualify. */
  readonly qualifying: (qualityServiceId: string) => readonly { address: string; serviceId: string }[];
  readonly get: (address: string) => RegisteredNode | undefined;
  /**
   * Targeted (evaluator) relays: the probe application to send under, one whose session for the
   * service holds the node (`probe-applications.ts`); absent or undefined: the caller's own.
   */
  readonly probeApplication?: (
    nodeAddress: string,
    serviceId: string,
    candidates: readonly RegisteredNode[],
    now: number,
  ) => string | undefined;
}

/** What the request needs from a node's backend (`capabilityNeeds` of the protocol). */
export function needsOf(request: DispatchRequest, stream: boolean): CapabilityNeed[] {
  return capabilityNeeds(request.operation, request.body, stream);
}

/** The first need the node's backend does not cover, or `undefined` when it can do what the request asks. */
export function unmetNeed(
  caps: NodeCapabilities,
  request: DispatchRequest,
  stream: boolean,
): CapabilityNeed | undefined {
  return missingCapability(caps, needsOf(request, stream));
}

/** Whether the node's backend can do what the request asks. */
export function canServe(caps: NodeCapabilities, request: DispatchRequest, stream: boolean): boolean {
  return unmetNeed(caps, request, stream) === undefined;
}

/**
 * The tier a node serves a request under, which its envelope names and by which the node weighs
 * it: the served service's tier of the sold tier's id, when the node registered it or a tier that
 * covers it (`coveredTier`: a standard node serves batch calls); for a quality or skill service
 * (whose tier ids need not be its model service's), else the node's standard tier. Never a tier
 * that weighs more than the one sold: the node is paid at most what the customer pays.
 */
function servedTierOf(
  catalog: Catalog,
  offer: NodeServiceOffer,
  sold: TierSpec,
  quality: boolean,
): TierSpec | undefined {
  const service = findService(catalog, offer.serviceId);
  if (service === undefined) return undefined;
  for (const id of quality && sold.id !== "standard" ? [sold.id, "standard"] : [sold.id]) {
    const tier = coveredTier(service, offer.tiers, id);
    if (tier !== undefined && weighsNoMore(tier, sold)) return tier;
  }
  return undefined;
}

/** Whether a relay under `served` weighs no more than one under `sold` (per call, or per standard image). */
function weighsNoMore(served: TierSpec, sold: TierSpec): boolean {
  return served.computeUnitsPerRelay <= sold.computeUnitsPerRelay;
}

/**
 * Every route a relay may take. A model-named service: the session's nodes for (application,
 * service) that serve the tier, or a dearer one that covers it. A quality or skill service: the
 * evaluator's qualifying nodes, each in its own session for (application, the node's model
 * service), served under that service and the asked tier (or the node's standard tier when it
 * serves neither the asked one nor one that covers it), when that tier's limits take the request
 * as the asked tier admitted it (no output cut short) and it weighs no more than the asked one.
 * A target node (evaluator keys) is routed in the session of a probe application that holds it,
 * so the node sees an ordinary member relay; without one, whether or not the session drew it (the
 * node decides).
 */
export function planRoutes(
  sources: PlanSources,
  request: DispatchRequest,
  now: number,
  stream: boolean,
  /** Plans as if every node could do what the request asks (to tell "no node" from "no capable node"). */
  ignoreCapabilities = false,
): Route[] {
  const { config, catalog } = sources;
  const app = request.application.address;
  const quality = request.target.service.class !== "model";
  const pairs: { address: string; serviceId: string }[] = quality
    ? [...sources.qualifying(request.target.service.id)]
    : [];
  const targeted = request.targetNode !== undefined;
  // An evaluator probing a node for a quality service measures it before it qualifies: any
  // model-named text service the node serves will do.
  const services = !quality
    ? [request.target.service.id]
    : targeted
      ? catalog.services.filter((s) => s.class === "model" && s.kind === "text").map((s) => s.id)
      : [...new Set(pairs.map((p) => p.serviceId))];
  const routes: Route[] = [];
  for (const serviceId of services) {
    const candidates = sources.candidates(serviceId);
    const probeApp =
      request.targetNode === undefined
        ? undefined
        : sources.probeApplication?.(request.targetNode, serviceId, candidates, now);
    const header = sessionHeader(config.session, probeApp ?? app, serviceId, now);
    const members =
      request.targetNode !== undefined
        ? candidates.filter((n) => n.address === request.targetNode)
        : sources.sessionNodes(header.sessionId, candidates);
    for (const node of members) {
      if (quality && !targeted && !pairs.some((p) => p.address === node.address && p.serviceId === serviceId))
        continue;
      const offer = node.offers.get(serviceId);
      if (offer === undefined) continue;
      // A targeted probe goes to the node whatever it declared: the node refuses what it cannot do
      // with a signed, coded answer, which is what the evaluator must see.
      if (!targeted && !ignoreCapabilities && !canServe(offer.capabilities, request, stream)) continue;
      const servedTier = servedTierOf(catalog, offer, request.target.tier, quality);
      if (servedTier === undefined) continue;
      const route = { node, header, servedServiceId: serviceId, servedTier };
      // A quality relay goes only to nodes whose own tier takes it whole (see `servedTierShortfall`).
      if (quality && !targeted && !ignoreCapabilities && servedTierShortfall(route, request) !== undefined)
        continue;
      routes.push(route);
    }
  }
  return routes;
}
