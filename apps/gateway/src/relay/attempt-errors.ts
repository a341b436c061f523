import { pocketCodeOf, pocketDetailOf } from "@pocket-ai/link";
import type { ErrorCode } from "@pocket-ai/protocol";
import { Data } from "effect";

/** The node refused the relay with a code (a signed error answer, or a coded transport error). */
export class NodeRefused extends Data.TaggedError("NodeRefused")<{
  readonly nodeAddress: string;
  readonly code: ErrorCode;
  readonly detail: string;
}> {}

/** The node's answer failed verification: signature, envelope, schema, service or limits. */
export class InvalidNodeResponse extends Data.TaggedError("InvalidNodeResponse")<{
  readonly nodeAddress: string;
  readonly detail: string;
}> {
  readonly code: ErrorCode = "INVALID_NODE_RESPONSE";
}

/** No answer: connection refused or reset, or no answer within the tier's timeout. */
export class NodeUnreachable extends Data.TaggedError("NodeUnreachable")<{
  readonly nodeAddress: string;
  readonly timedOut: boolean;
  readonly detail: string;
}> {
  get code(): ErrorCode {
    return this.timedOut ? "TIMEOUT" : "NO_NODES_AVAILABLE";
  }
}

export type AttemptFailure = NodeRefused | InvalidNodeResponse | NodeUnreachable;

/**
 * Refusals about the request itself: another node would refuse them too, so they go back to the
 * caller at once. Everything else a node says (busy, backend down, not in session...) is the
 * node's problem and the relay moves on to another node.
 */
const CALLER_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "INVALID_REQUEST",
  "INPUT_TOO_LONG",
  "OUTPUT_TOO_LONG",
  "IMAGE_TOO_LARGE",
]);

export function isCallerError(failure: AttemptFailure): boolean {
  return failure._tag === "NodeRefused" && CALLER_ERRORS.has(failure.code);
}

/** A failed tRPC call: a coded refusal when the node sent a protocol code, else unreachable. */
export function callFailure(nodeAddress: string, error: unknown): AttemptFailure {
  const code = pocketCodeOf(error);
  if (code !== undefined) {
    return new NodeRefused({ nodeAddress, code, detail: pocketDetailOf(error) ?? (error as Error).message });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new NodeUnreachable({ nodeAddress, timedOut: false, detail });
}
