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

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
