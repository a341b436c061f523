import { isNodeInSession, type RelayRequest } from "@pocket-ai/protocol";
import { Context, Effect, Layer, Option } from "effect";
import { WorkerLink } from "../app/worker-link.js";
import { NodeIdentity } from "../identity/node-identity.js";

/**
 * Whether this node belongs to a relay's session. Membership is recomputed from the session id
 * and the candidate list for the service of the gateway that signed the relay
 * (`selectSessionNodes`), which that gateway returns on every registration, with its own session
 * set size: each gateway selects its sessions' nodes from its own registry, so the lists of one
 * gateway never judge the relays of another. The list is pinned per gateway and session the first
 * time the node sees that session, so a registration in mid-session never moves a node out of a
 * session it is serving. Until the node has a list from the relay's gateway for its service (first
 * start, gateway unreachable, a gateway it does not register with) it serves the relays that name
 * it as their target: the gateway that signed them did the selection.
 */
export class SessionMembership {
  /** Per gateway address: its candidate lists by service and its session set size. */
  private readonly gateways = new Map<string, GatewayLists>();
  /** Per gateway and session: the pinned list, and whether this node is in the session's set of it. */
  private readonly pinned = new Map<string, Pinned>();
  private readonly listeners: MembershipListener[] = [];

  constructor(private readonly nodeAddress: string) {}

  /**
   * Takes one gateway's registration answer: its lists replace that gateway's lists of the same
   * services, and its set size that gateway's; other gateways' lists are untouched.
   */
  update(
    gateway: string,
    registry: Record<string, readonly { address: string }[]>,
    nodesPerSession: number,
  ): void {
    let lists = this.gateways.get(gateway);
    if (lists === undefined) {
      lists = { candidates: new Map(), nodesPerSession };
      this.gateways.set(gateway, lists);
    }
    lists.nodesPerSession = nodesPerSession;
    for (const [serviceId, list] of Object.entries(registry)) lists.candidates.set(serviceId, list);
    for (const listener of this.listeners) listener(gateway, registry, nodesPerSession);
  }

  /** Hears every update (a node's primary passes each on to its workers). */
  onUpdate(listener: MembershipListener): void {
    this.listeners.push(listener);
  }

  check(request: RelayRequest): boolean {
    if (request.target !== undefined && request.target !== this.nodeAddress) return false;
    const lists = this.gateways.get(request.gateway.address);
    const key = `${request.gateway.address}/${request.header.sessionId}`;
    let pinned = this.pinned.get(key);
    if (pinned === undefined) {
      const list = lists?.candidates.get(request.header.serviceId);
      if (lists === undefined || list === undefined) return true;
      pinned = { list, count: -1, member: false };
      this.pinned.set(key, pinned);
      if (this.pinned.size > 10_000) this.pinned.delete(this.pinned.keys().next().value as string);
    }
    // A pinned session's gateway has lists (they are never dropped). The selection depends only on
    // the session, the pinned list and the gateway's set size: made once per size.
    const count = lists?.nodesPerSession ?? pinned.count;
    if (pinned.count !== count) {
      pinned.member = isNodeInSession(request.header.sessionId, pinned.list, count, this.nodeAddress);
      pinned.count = count;
    }
    return pinned.member;
  }
}

/**
 * Hears a membership update: the gateway whose registration answer it is, its candidate lists by
 * service, and its session set size.
 */
export type MembershipListener = (
  gateway: string,
  registry: Record<string, readonly { address: string }[]>,
  nodesPerSession: number,
) => void;

interface GatewayLists {
  readonly candidates: Map<string, readonly { address: string }[]>;
  nodesPerSession: number;
}

interface Pinned {
  readonly list: readonly { address: string }[];
  /** The set size `member` was selected with (-1: not yet). */
  count: number;
  member: boolean;
}

/** This node's session membership, shared by admission and the announce loop. */
export class Membership extends Context.Tag("node/Membership")<Membership, SessionMembership>() {
  static readonly layer = Layer.effect(
    Membership,
    Effect.gen(function* () {
      const { key } = yield* NodeIdentity;
      const membership = new SessionMembership(key.address);
      // A worker of several hears the lists its primary's registrations bring (app/node-cluster.ts).
      const link = yield* Effect.serviceOption(WorkerLink);
      if (Option.isSome(link))
        link.value.onMembership((gateway, registry, n) => membership.update(gateway, registry, n));
      return membership;
    }),
  );
}
