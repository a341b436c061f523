import type { ErrorCode } from "@pocket-ai/protocol";
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
export class UnknownNode extends Data.TaggedError("UnknownNode")<{ readonly address: string }> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return `no node ${this.address} is registered`;
  }
}
