import type { ErrorCode, ProtocolError } from "@pocket-ai/protocol";
import { Data } from "effect";

/**
 * One tagged error per refusal, each carrying its protocol code (the tRPC layer maps the code to
 * an HTTP status and `pocketCode`, see `trpc.ts`) and a message that says what to do next.
 */

const withDetail = (what: string, detail: string | undefined) =>
  detail === undefined ? what : `${what}: ${detail}`;

/** A settlement message that is not the protocol's shape, or names another protocol version. */
export class MalformedSettlementMessage extends Data.TaggedError("MalformedSettlementMessage")<{
  readonly detail?: string | undefined;
}> {
  readonly code: ErrorCode = "MALFORMED_ENVELOPE";
  override get message(): string {
    return withDetail("malformed settlement message", this.detail);
  }
}

/** The node's signature does not verify, its address is not its key's, or it names another gateway. */
export class SettlementSignatureRefused extends Data.TaggedError("SettlementSignatureRefused")<{
  readonly code: "INVALID_SIGNATURE" | "ADDRESS_MISMATCH";
  readonly detail?: string | undefined;
}> {
  override get message(): string {
    return withDetail("settlement message refused", this.detail);
  }
}

/** The claim does not match a session this gateway ran, or claims more than its ledger holds. */
export class InvalidClaim extends Data.TaggedError("InvalidClaim")<{ readonly detail: string }> {
  readonly code: ErrorCode = "INVALID_CLAIM";
  override get message(): string {
    return `invalid claim: ${this.detail}`;
  }
}

/** A proof that cannot be tied to a stored claim (the proof of a stored claim is answered with a rejected ack). */
export class InvalidProof extends Data.TaggedError("InvalidProof")<{ readonly detail: string }> {
  readonly code: ErrorCode = "INVALID_PROOF";
  override get message(): string {
    return `invalid proof: ${this.detail}`;
  }
}

/** The node already claimed this session with another root. */
export class DuplicateClaim extends Data.TaggedError("DuplicateClaim")<{
  readonly sessionId: string;
  readonly nodeAddress: string;
}> {
  readonly code: ErrorCode = "DUPLICATE_CLAIM";
  override get message(): string {
    return `node ${this.nodeAddress} already claimed session ${this.sessionId} with another root`;
  }
}

/** The claim arrived before its window opened: the node submits it again later. */
export class ClaimWindowNotOpen extends Data.TaggedError("ClaimWindowNotOpen")<{ readonly detail: string }> {
  readonly code: ErrorCode = "CLAIM_WINDOW_NOT_OPEN";
  override get message(): string {
    return this.detail;
  }
}

/** The claim arrived after its window closed (or a proof after the proof window). */
export class ClaimWindowClosed extends Data.TaggedError("ClaimWindowClosed")<{ readonly detail: string }> {
  readonly code: ErrorCode = "CLAIM_WINDOW_CLOSED";
  override get message(): string {
    return this.detail;
  }
}

/** No POKT rate is set for the week the session belongs to: the node retries once the admin sets it. */
export class RateNotSet extends Data.TaggedError("RateNotSet")<{ readonly weekId: string }> {
  readonly code: ErrorCode = "RATE_NOT_SET";
  override get message(): string {
    return `no POKT rate is set for week ${this.weekId}; the operator must set it (pocket-gateway rates set --week ${this.weekId} --usd-per-pokt …)`;
  }
}

/** A week's rate cannot change once a stored claim pinned it. */
export class RatePinned extends Data.TaggedError("RatePinned")<{
  readonly weekId: string;
  readonly rateMicroUsdPerPokt: number;
  readonly claims: number;
}> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return `the rate of ${this.weekId} (${this.rateMicroUsdPerPokt} µUSD per POKT) is pinned by ${this.claims} stored claim(s) and cannot change`;
  }
}

/** An admin input that is not a week id, a rate or a format settlement knows. */
export class InvalidSettlementInput extends Data.TaggedError("InvalidSettlementInput")<{
  readonly detail: string;
}> {
  readonly code: ErrorCode = "INVALID_REQUEST";
  override get message(): string {
    return this.detail;
  }
}

/** Any refusal of a node's message before it touches a stored claim. */
export type SubmissionRefused =
  | MalformedSettlementMessage
  | SettlementSignatureRefused
  | InvalidClaim
  | InvalidProof;

/** The tagged error for a protocol verification failure of a node's claim or proof. */
export function refusalOf(error: ProtocolError): SubmissionRefused {
  const detail = error.detail ?? error.message;
  switch (error.code) {
    case "INVALID_SIGNATURE":
    case "ADDRESS_MISMATCH":
      return new SettlementSignatureRefused({ code: error.code, detail });
    case "INVALID_CLAIM":
      return new InvalidClaim({ detail });
    case "INVALID_PROOF":
      return new InvalidProof({ detail });
    default:
      return new MalformedSettlementMessage({ detail });
  }
}
