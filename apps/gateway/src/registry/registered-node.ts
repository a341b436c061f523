import {
  type Catalog,
  findService,
  findTier,
  NodeAnnouncement,
  type NodeServiceOffer,
} from "@pocket-ai/protocol";

/** A node as the registry knows it: its latest verified announcement, cut to what the catalog sells. */
export interface RegisteredNode {
  readonly address: string;
  readonly publicKey: string;
  readonly endpoint: string;
  readonly operator: string | undefined;
  readonly announcement: NodeAnnouncement;
  /** Offers of model-named catalog services, with only the catalog's tiers. */
  readonly offers: ReadonlyMap<string, NodeServiceOffer>;
  readonly registeredAt: number;
  readonly lastAnnouncedAt: number;
}

/**
 * The offers routing may use: model-named services of this gateway's catalog, tiers the catalog
 * defines. Quality and skill services are never announced — a node earns them by its scores.
 */
export function servableOffers(
  catalog: Catalog,
  announcement: NodeAnnouncement,
): Map<string, NodeServiceOffer> {
  const offers = new Map<string, NodeServiceOffer>();
  for (const offer of announcement.services) {
    const service = findService(catalog, offer.serviceId);
    if (service === undefined || service.class !== "model") continue;
    const tiers = offer.tiers.filter((t) => findTier(service, t) !== undefined);
    if (tiers.length > 0) offers.set(offer.serviceId, { ...offer, tiers });
  }
  return offers;
}

/** Rebuilds a registered node from its database row; `undefined` when the stored JSON no longer parses. */
export function nodeFromRow(
  catalog: Catalog,
  row: { address: string; announcement: string; registeredAt: number; lastAnnouncedAt: number },
): RegisteredNode | undefined {
  let json: unknown;
  try {
    json = JSON.parse(row.announcement);
  } catch {
    return undefined;
  }
  const parsed = NodeAnnouncement.safeParse(json);
  if (!parsed.success || parsed.data.node.address !== row.address) return undefined;
  return toRegistered(catalog, parsed.data, row.registeredAt, row.lastAnnouncedAt);
}

export function toRegistered(
  catalog: Catalog,
  announcement: NodeAnnouncement,
  registeredAt: number,
  lastAnnouncedAt: number,
): RegisteredNode {
  return {
    address: announcement.node.address,
    publicKey: announcement.node.publicKey,
    endpoint: announcement.endpoint,
    operator: announcement.operator,
    announcement,
    offers: servableOffers(catalog, announcement),
    registeredAt,
    lastAnnouncedAt,
  };
}
