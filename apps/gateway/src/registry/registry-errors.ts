import type { ErrorCode } from "@pocket-ai/protocol";
import { peerText } from "@pocket-ai/runtime";
import { Data } from "effect";

/** A node announcement failed verification (schema, freshness, signature). */
export class AnnouncementRefused extends Data.TaggedError("AnnouncementRefused")<{
  readonly code: ErrorCode;
  readonly detail: string;
}> {
  override get message(): string {
    return this.detail;
  }
}

/**
 * A node new to this gateway announced from a network that brought in as many new nodes within the
 * hour as `routing.newNodesPerNetworkPerHour` allows.
 */
export class AnnouncementLimited extends Data.TaggedError("AnnouncementLimited")<{
  readonly perHour: number;
  /** When the network's oldest arrival of the hour leaves the count. */
  readonly retryInMs: number;
}> {
  readonly code: ErrorCode = "ANNOUNCE_LIMITED";
  override get message(): string {
    const minutes = Math.max(1, Math.ceil(this.retryInMs / 60_000));
    return `this gateway took ${this.perHour} new nodes from this node's network in the last hour (routing.newNodesPerNetworkPerHour); nodes it knows are not limited: keep announcing, this node can be taken in about ${minutes} min`;
  }
}

/**
 * A node's announcement issued before the one this gateway holds (`heldIssuedAt`): an earlier one
 * sent again, by whoever saw it on the link (it stays valid for minutes), or a node whose clock
 * went back. Taking it would undo what the node announced since: its endpoint, its services.
 */
export class AnnouncementSuperseded extends Data.TaggedError("AnnouncementSuperseded")<{
  readonly issuedAt: number;
  readonly heldIssuedAt: number;
}> {
  readonly code: ErrorCode = "ANNOUNCEMENT_SUPERSEDED";
  override get message(): string {
    const behind = Math.max(1, Math.ceil((this.heldIssuedAt - this.issuedAt) / 1000));
    return `this announcement was issued at ${iso(this.issuedAt)}, ${behind} s before the one this gateway holds for the node (${iso(this.heldIssuedAt)}): an earlier announcement sent again is not taken; if the node's clock went back, it is taken again once the node's clock passes ${iso(this.heldIssuedAt)}`;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A node announced an endpoint whose host is, or resolves to, an address that is not public, and
 * `routing.allowPrivateEndpoints` is off: the gateway calls no such address for a stranger.
 */
export class EndpointNotPublic extends Data.TaggedError("EndpointNotPublic")<{
  /** Which address, and why (see `endpoint-address.ts`). */
  readonly detail: string;
}> {
  readonly code: ErrorCode = "ENDPOINT_NOT_PUBLIC";
  override get message(): string {
    return `${this.detail}: this gateway calls nodes at public addresses only; announce the address it reaches this node at (routing.allowPrivateEndpoints is off)`;
  }
}

/** An admin asked about a node the registry does not know. */
export class UnknownNode extends Data.TaggedError("UnknownNode")<{
  readonly address: string;
  readonly forgetAfterMs: number;
}> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return `${notKnown(this.address, this.forgetAfterMs)}; admin.nodes.forgotten lists the nodes it forgot`;
  }
}

/**
 * Why this gateway does not know a node: it never announced here, or not within
 * `routing.forgetNodesAfterMs`; it is known again from its next announcement.
 */
export function notKnown(address: string, forgetAfterMs: number): string {
  // The address as a caller sent it (a header, an admin's input): cut to an address's length.
  return `node ${peerText(address, 128)} is not registered with this gateway now: it never announced here, or not in the last ${duration(forgetAfterMs)} (routing.forgetNodesAfterMs); it is known again from its next announcement`;
}

/** A window as an operator sets it: `1 h`, `90 min`, `45 s`. */
export function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
