/**
 * Engine refusals (`ENGINE_REJECTED`) per node and service. A node's signed claim that its engine
 * refused a request is believed — the client gets a 400, no other node is tried and the node is not
 * sanctioned — because engines really do refuse requests the gateway's own checks admit (a context
 * window smaller than the tier's limits suggest, a token id the model does not know). But a claim
 * that costs the node nothing and spares it the error-rate penalty of a failure is a way to dodge
 * sanctions: so the gateway counts, per (service, node), how many of the relays it sent there came
 * back as engine refusals, and a node whose share stands far above its peers' for the same service
 * — who get the same mix of requests, since sessions draw nodes at random — is marked as faulty.
 * Where the session has another node, the dispatcher asks it too before the client gets the 400:
 * a refusal another node's answer disproves is counted against the refusing node
 * (`disproved`), and a few of them sanction it.
 */

/** When a node's engine-refusal share is an outlier. */
export interface EngineRefusalPolicy {
  /** Relays a node (and each peer counted in the baseline) must have seen before it is judged. */
  readonly minSamples: number;
  /** A node is an outlier when its share exceeds the peers' median by more than this… */
  readonly margin: number;
  /** …and is more than this many times the peers' median. */
  readonly factor: number;
  /** Counts are halved once a node's count reaches this, so the share follows recent traffic. */
  readonly window: number;
  /**
   * Refusals another node's answer disproved (the same request served by another node of the
   * session) before the node is sanctioned: one may be an engine set up unlike its peers' or a
   * peer that answers what it should not; several are a node that does not serve its tier.
   */
  readonly disprovedLimit: number;
}

export const DEFAULT_ENGINE_REFUSAL_POLICY: EngineRefusalPolicy = {
  minSamples: 20,
  margin: 0.2,
  factor: 3,
  window: 400,
  disprovedLimit: 3,
};

/** One node's recent relays for a service: how many were answered or refused, how many refused by its engine. */
export interface RefusalCount {
  readonly seen: number;
  readonly refused: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * Why a node's engine-refusal share is an outlier among its peers, or `undefined`. Without peers
 * that have enough samples there is nothing to compare with, and no judgement: a lone node's
 * refusals may all be one customer's overlong prompts.
 */
export function refusalOutlier(
  node: RefusalCount,
  peers: readonly RefusalCount[],
  policy: EngineRefusalPolicy = DEFAULT_ENGINE_REFUSAL_POLICY,
): string | undefined {
  if (node.seen < policy.minSamples) return undefined;
  const measured = peers.filter((p) => p.seen >= policy.minSamples);
  if (measured.length === 0) return undefined;
  const share = node.refused / node.seen;
  const baseline = median(measured.map((p) => p.refused / p.seen));
  if (share <= baseline + policy.margin || share <= baseline * policy.factor) return undefined;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  return `engine refused ${pct(share)} of ${node.seen} relays; peers' median ${pct(baseline)}`;
}

/** The counts behind {@link refusalOutlier}, in memory, per service and node. */
export class EngineRefusalLedger {
  private readonly counts = new Map<string, Map<string, { seen: number; refused: number }>>();
  /** Per `service node`: refusals another node's answer disproved since the last sanction. */
  private readonly disprovals = new Map<string, number>();

  constructor(private readonly policy: EngineRefusalPolicy = DEFAULT_ENGINE_REFUSAL_POLICY) {}

  /** A relay the node answered (`false`) or its engine refused (`true`). Other failures are not counted. */
  record(serviceId: string, address: string, refused: boolean): void {
    let nodes = this.counts.get(serviceId);
    if (nodes === undefined) {
      nodes = new Map();
      this.counts.set(serviceId, nodes);
    }
    const count = nodes.get(address) ?? { seen: 0, refused: 0 };
    count.seen += 1;
    if (refused) count.refused += 1;
    if (count.seen >= this.policy.window) {
      count.seen = Math.floor(count.seen / 2);
      count.refused = Math.floor(count.refused / 2);
    }
    nodes.set(address, count);
  }

  /** Why the node is an outlier for the service now, or `undefined`. */
  outlier(serviceId: string, address: string): string | undefined {
    const nodes = this.counts.get(serviceId);
    const own = nodes?.get(address);
    if (nodes === undefined || own === undefined) return undefined;
    const peers = [...nodes].filter(([peer]) => peer !== address).map(([, count]) => count);
    return refusalOutlier(own, peers, this.policy);
  }

  /**
   * A refusal of the node's that another node disproved by answering the same request. Returns
   * why the node is to be sanctioned once it has `disprovedLimit` of them, else `undefined`.
   */
  disproved(serviceId: string, address: string): string | undefined {
    const key = `${serviceId} ${address}`;
    const count = (this.disprovals.get(key) ?? 0) + 1;
    this.disprovals.set(key, count);
    if (count < this.policy.disprovedLimit) return undefined;
    return `refused ${count} requests that other nodes answered`;
  }

  /** Forgets the node's counts for the service (after a sanction, so it starts afresh when it ends). */
  reset(serviceId: string, address: string): void {
    this.counts.get(serviceId)?.delete(address);
    this.disprovals.delete(`${serviceId} ${address}`);
  }

  /** The node's refusals for the service that other nodes disproved, since its counts last started afresh. */
  disprovedCount(serviceId: string, address: string): number {
    return this.disprovals.get(`${serviceId} ${address}`) ?? 0;
  }

  count(serviceId: string, address: string): RefusalCount {
    return this.counts.get(serviceId)?.get(address) ?? { seen: 0, refused: 0 };
  }
}
