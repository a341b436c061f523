import { isNodeInSession, type RelayRequest } from "@pocket-ai/protocol";
import { Context, Effect, Layer, Option } from "effect";
import { WorkerLink } from "../app/worker-link.js";
import { NodeIdentity } from "../identity/node-identity.js";

/**
 * Whether this node belongs to a relay's session. Membership is recomputed from the session id
 * and the gateway's candidate list for the service (`selectSessionNodes`), which the gateway
 * returns on every registration. The list is pinned per session the first time the node sees
 * it, so a registration in mid-session never moves a node out of a session it is serving. Until
 * the node has a list for a service (first start, gateway unreachable) it serves the relays that
 * name it as their target: the gateway that signed them did the selection.
 */
export class SessionMembership {
  private readonly candidates = new Map<string, readonly { address: string }[]>();
  /** Per gateway and session: the pinned list, and whether this node is in the session's set of it. */
  private readonly pinned = new Map<string, Pinned>();
  private readonly listeners: MembershipListener[] = [];

  constructor(
    private readonly nodeAddress: string,
    private nodesPerSession: number,
  ) {}

  /** Replaces the candidate lists (from a gateway's registration answer). */
  update(registry: Record<string, readonly { address: string }[]>, nodesPerSession: number): void {
    this.nodesPerSession = nodesPerSession;
    for (const [serviceId, list] of Object.entries(registry)) this.candidates.set(serviceId, list);
    for (const listener of this.listeners) listener(registry, nodesPerSession);
  }

  /** Hears every update (a node's primary passes each on to its workers). */
  onUpdate(listener: MembershipListener): void {
    this.listeners.push(listener);
  }

  check(request: RelayRequest): boolean {
    if (request.target !== undefined && request.target !== this.nodeAddress) return false;
    const key = `${request.gateway.address}/${request.header.sessionId}`;
    let pinned = this.pinned.get(key);
    if (pinned === undefined) {
      const list = this.candidates.get(request.header.serviceId);
      if (list === undefined) return true;
      pinned = { list, count: -1, member: false };
      this.pinned.set(key, pinned);
      if (this.pinned.size > 10_000) this.pinned.delete(this.pinned.keys().next().value as string);
    }
    // The selection depends only on the session, the pinned list and the set's size: made once.
    if (pinned.count !== this.nodesPerSession) {
      const count = this.nodesPerSession;
      pinned.member = isNodeInSession(request.header.sessionId, pinned.list, count, this.nodeAddress);
      pinned.count = count;
    }
    return pinned.member;
  }
}

/** Hears a membership update: the candidate lists by service, and the session set's size. */
export type MembershipListener = (
  registry: Record<string, readonly { address: string }[]>,
  nodesPerSession: number,
) => void;

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
      const membership = new SessionMembership(key.address, 24);
      // A worker of several hears the lists its primary's registrations bring (app/node-cluster.ts).
      const link = yield* Effect.serviceOption(WorkerLink);
      if (Option.isSome(link)) link.value.onMembership((registry, n) => membership.update(registry, n));
      return membership;
    }),
  );
}
